"""What the training commands accept, without torch: `eepart train --help` lists it where torch is absent.

backbones.py builds exactly these backbones (a test holds the two to the same names); data.py holds out
DEFAULT_PROFILE_SIZE images for profiling.
"""
BACKBONE_NAMES = ("resnet8", "resnet20", "resnet32", "resnet18", "resnet34", "resnet50", "mobilenetv2",
                  "inceptionv3")
GRANULARITIES = ("block", "stage")
DEFAULT_PROFILE_SIZE = 5000
TRAIN_NEEDS = ("torch", "torchvision")  # what `eepart train`, `profile` and `validate` import when they run
