"""Image-to-image translation: depth map -> face (and face -> depth), one U-Net generator, five ways to train it.

| model           | script                          | generator's loss                                               |
| d2f_supervised  | depth2face.py --mode supervised | L1 to the paired photo (+ perceptual)                           |
| d2f_gan         | depth2face.py --mode gan        | adversarial (PatchGAN on faces), no pairs                       |
| d2f_pix2pix     | depth2face.py --mode pix2pix    | adversarial (PatchGAN on depth + face) + L1 to the photo        |
| d2f_semi        | depth2face.py --mode semi       | L1 on --paired_count pairs + adversarial on unpaired photos     |
| d2f_cycle       | depth2face.py --mode cycle      | adversarial + L1 of a face -> depth net's output to the input   |
| face2depth      | depth2face.py --mode face2depth | L1 to the paired depth map: the evaluator of correspondence     |
"""
