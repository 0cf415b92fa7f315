"""Label, attribute and answers files as editors save them (UTF-8 BOM, Windows-1252, UTF-16), and duplicate rows."""

from __future__ import annotations

import codecs
import re

import pytest

from facegen.apps.labelling import read_answers
from facegen.core.errors import FacegenError
from facegen.core.textfile import read_text
from facegen.data.celeba import read_celeba_attrs, read_celeba_partition
from facegen.data.labels import read_smile_labels

TEXT = "name,note\r\nJosé_1.jpg,‘smile’ – 5 €\r\n"  # every non-ASCII character here exists in Windows-1252


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1252", b""),
                                               ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_read_text_decodes_what_editors_write(tmp_path, encoding, bom):
    path = tmp_path / "t.csv"
    path.write_bytes(bom + TEXT.encode(encoding))
    assert read_text(path) == TEXT  # BOM dropped, line endings untouched


def test_read_text_refuses_what_is_not_text(tmp_path):
    undefined = tmp_path / "odd.csv"
    undefined.write_bytes(b"a,b\n\xc3(\x81\n")  # not UTF-8; 0x81 is undefined in Windows-1252
    with pytest.raises(FacegenError, match=re.escape(f"{undefined} is not text in UTF-8 or Windows-1252 (byte 0x81 "
                                                     f"at offset 6): save it as UTF-8 text")):
        read_text(undefined)
    binary = tmp_path / "face.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(FacegenError, match="holds NUL bytes, so it is not a text file"):
        read_text(binary)
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.csv")


def test_smile_labels_in_windows_1252_and_with_bom(tmp_path):
    rows = ",stimulus_filename,avg_encode\r\n0,José_1.jpg,0.5\r\n1,Zoë_2.jpg,-0.25\r\n"
    for name, data in [("ansi.csv", rows.encode("cp1252")), ("bom.csv", codecs.BOM_UTF8 + rows.encode())]:
        (tmp_path / name).write_bytes(data)
        assert read_smile_labels(tmp_path / name) == {"José_1.jpg": 0.5, "Zoë_2.jpg": -0.25}, name


def test_duplicate_face_in_smile_labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(",stimulus_filename,avg_encode\n0,a.jpg,0.5\n1,b.jpg,0.1\n\n2,a.jpg,0.5\n")
    with pytest.raises(FacegenError, match=re.escape(f"{path} line 5: a.jpg is listed twice (first on line 2): "
                                                     f"keep one of its rows")):
        read_smile_labels(path)


def celeba_attrs(rows: list[str]) -> str:
    return f"{len(rows)}\nMale Smiling\n" + "".join(f"{r}\r\n" for r in rows)


def test_celeba_attributes_with_bom_and_in_windows_1252(tmp_path):
    text = celeba_attrs(["000001.jpg 1 -1", "Béa_2.jpg -1 1"])
    for name, data in [("bom.txt", codecs.BOM_UTF8 + text.encode()), ("ansi.txt", text.encode("cp1252"))]:
        (tmp_path / name).write_bytes(data)
        names, files, attrs = read_celeba_attrs(tmp_path / name)
        assert names == ["Male", "Smiling"] and files == ["000001.jpg", "Béa_2.jpg"], name
        assert attrs.tolist() == [[1, -1], [-1, 1]]


def test_duplicate_row_in_celeba_files(tmp_path):
    attrs = tmp_path / "list_attr_celeba.txt"
    attrs.write_text(celeba_attrs(["000001.jpg 1 -1", "000002.jpg 1 1", "000001.jpg 1 -1"]))
    with pytest.raises(FacegenError, match=re.escape(f"{attrs} line 5: 000001.jpg is listed twice (first on line 3): "
                                                     f"keep one of its rows")):
        read_celeba_attrs(attrs)
    partition = tmp_path / "list_eval_partition.txt"
    partition.write_text("000001.jpg 0\n000002.jpg 1\n000002.jpg 2\n")
    with pytest.raises(FacegenError, match=re.escape(f"{partition} line 3: 000002.jpg is listed twice: keep one")):
        read_celeba_partition(partition)


def test_answers_file_in_windows_1252(tmp_path):
    path = tmp_path / "zoë.csv"
    path.write_bytes("image,answer,reaction_time\r\nJosé_1.jpg,s,0.5\r\n".encode("cp1252"))
    (answer,) = read_answers(path)
    assert answer.image == "José_1.jpg" and answer.smiling and answer.reaction_time == 0.5
