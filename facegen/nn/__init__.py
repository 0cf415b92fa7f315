"""Network building blocks shared by the model families (conv encoder/decoder, U-Net, PatchGAN, flow layers)."""
