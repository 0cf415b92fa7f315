"""Expression editing of whole photos and how it is judged: the smile editor's photo pipeline, the CelebA smile
judge, landmark measures of the mouth, the two-sample test and the study that compares editing methods."""
