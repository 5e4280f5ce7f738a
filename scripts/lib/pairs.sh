#!/usr/bin/env bash
# shellcheck disable=SC2034  # the arrays are read by the scripts that source this file
# The paper's teacher/student pairs with upstream's per-teacher adversarial and one-hot weights (SPEC section 4).
# name teacher student adv oh
PAIRS=(
    "r34 resnet34 resnet18 1.33 0.5"
    "vgg vgg11 resnet18 1.0 0.5"
    "wrn wrn40_2 wrn16_1 1.1 0.4"
    "wrn401 wrn40_2 wrn40_1 1.1 0.4"
    "wrn162 wrn40_2 wrn16_2 1.1 0.4"
)
# Not in the paper: the cheap pair of benchmarks/reproduce_fmnist.sh --cpu (with WRN's weights).
EXTRA_PAIRS=(
    "w161 wrn16_1 resnet8 1.1 0.4"
)
