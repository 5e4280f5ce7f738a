#!/usr/bin/env bash
# shellcheck disable=SC2034  # the arrays are read by the scripts that source this file
# The reference scripts' per-method settings, the one place they are written: scripts/*_cifar.sh,
# scripts/nayer_tiny_imagenet.sh, scripts/fast_fmnist.sh, scripts/fmnist_methods.sh and
# benchmarks/reproduce_fmnist.sh start every data-free command from a row here (set_method_flags) and set their own
# schedule over it.
# Keys are run names: METHOD or METHOD-VARIANT (fast_meta-2 is Fast-2). {adv} and {oh} are filled with the pair's
# weights from scripts/lib/pairs.sh.
#   fast, fast_meta: zju-vipa/Fast-Datafree scripts/fast_cifar.sh ("modify --dataset (and nothing else)": the same
#     flags on CIFAR-10 and CIFAR-100). The reference has no script for `fast`: Fast-2's flags without meta learning.
#   deepinv, cmi, dafl, zskt, dfq, dfad: the zju-vipa/CMI and Fast-Datafree baseline scripts, which exist for
#     CIFAR-10 only (WRN-40-2 -> WRN-16-1). CIFAR-100 and the other pairs use the same flags, by Fast-Datafree's
#     rule above; the one reference script for another pair, dfq ResNet-34 -> ResNet-18 on CIFAR-100, is in
#     DATASET_PAIR_FLAGS. cmi uses the script's --g_steps 200 (the paper's row is named CMI-500; G_STEPS=500).
#   nayer-100, nayer-200, nayer-300: tmtuan1307/NAYER scripts/nayer_{100,200,300}.sh (120 / 220 / 320 epochs), with
#     the defaults of NAYER's parser that its scripts rely on written out (--T 20 --bn_mmt 0.9 --kd_steps 400
#     --ep_steps 400 --le_emb_size 1000). The same --adv 1.33 --oh 0.5 for every pair (no {adv} / {oh}). The rows
#     hold no --g_steps: NAYER gives it per dataset (DATASET_FLAGS: CIFAR-10 30, CIFAR-100 40, and Tiny-ImageNet's
#     other settings); a script for another dataset sets its own. `nayer` is nayer-100's flags; nayer-random and
#     nayer-onehot take the data-free class embeddings of those names (the default, --label_emb auto, is the
#     dataset's CLIP vectors where shipped, else the teacher's classifier weights).
FAST_COMMON="--batch_size 256 --lr 0.2 --kd_steps 400 --ep_steps 400 --adv {adv} --bn 10.0 --oh {oh} --act 0
             --balance 0 --T 20 --bn_mmt 0.9 --warmup 20 --epochs 220 --reset_l0 1 --reset_bn 0"
FAST_META="$FAST_COMMON --is_maml 1"
POOL_BASE="--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 400 --ep_steps 400"
ONLINE_BASE="--batch_size 256 --lr 0.1 --epochs 200 --ep_steps 400 --g_steps 1 --lr_g 1e-3"
NAYER_BASE="--batch_size 512 --synthesis_batch_size 400 --lr 0.2 --warmup 20 --lr_g 4e-3 --adv 1.33 --bn 10.0
            --oh 0.5 --g_life 10 --g_loops 2 --gwp_loops 10 --T 20 --bn_mmt 0.9 --kd_steps 400 --ep_steps 400
            --le_emb_size 1000"
declare -A METHOD_FLAGS=(
    [fast_meta-2]="$FAST_META --g_steps 2 --lr_z 0.015 --lr_g 5e-3"
    [fast_meta-5]="$FAST_META --g_steps 5 --lr_z 0.01 --lr_g 3e-3"
    [fast_meta-10]="$FAST_META --g_steps 10 --lr_z 0.01 --lr_g 2e-3"
    [fast]="$FAST_COMMON --g_steps 2 --lr_z 0.015 --lr_g 5e-3"
    [deepinv]="$POOL_BASE --g_steps 1000 --lr_g 0.1 --adv 1 --bn 10 --oh 1 --T 20 --act 0 --balance 0"
    [cmi]="$POOL_BASE --g_steps ${G_STEPS:-200} --lr_g 1e-3 --adv 0.5 --bn 1.0 --oh 1.0 --cr 0.8 --cr_T 0.2 --act 0
           --balance 0 --T 20"
    [dafl]="$ONLINE_BASE --kd_steps 5 --adv 0 --T 20 --bn 0 --oh 1 --act 0.001 --balance 20"
    [zskt]="$ONLINE_BASE --kd_steps 5 --adv 1 --T 20 --bn 0 --oh 0 --act 0 --balance 0"
    [dfq]="$ONLINE_BASE --kd_steps 10 --adv 1 --T 20 --bn 1 --oh 1 --act 0 --balance 20"
    [dfad]="$ONLINE_BASE --kd_steps 5 --adv 1 --T 1 --bn 0 --oh 0 --act 0 --balance 0"
    [noise]="$POOL_BASE --T 20 --adv 0 --bn 0 --oh 0 --act 0 --balance 0"   # control: KD on Gaussian noise
    [nayer-100]="$NAYER_BASE --epochs 120"
    [nayer-200]="$NAYER_BASE --epochs 220"
    [nayer-300]="$NAYER_BASE --epochs 320"
    [nayer]="$NAYER_BASE --epochs 120"
    [nayer-random]="$NAYER_BASE --epochs 120 --label_emb random"
    [nayer-onehot]="$NAYER_BASE --epochs 120 --label_emb onehot"
)
# Set over the row for METHOD:DATASET (every pair) where a reference script says otherwise (set_dataset_flags).
declare -A DATASET_FLAGS=(
    [nayer:cifar10]="--g_steps 30"
    [nayer:cifar100]="--g_steps 40"
    [nayer:fmnist]="--g_steps 30"   # no NAYER script for it: its value for the other 10-class dataset, CIFAR-10
    [nayer:tiny_imagenet]="--batch_size 256 --synthesis_batch_size 200 --lr 0.1 --g_steps 60 --g_loops 4
                           --gwp_loops 20 --kd_steps 1000 --ep_steps 1000"
)
# Set over those for METHOD:DATASET:PAIR where a reference script says otherwise.
declare -A DATASET_PAIR_FLAGS=(
    [dfq:cifar100:r34]="--lr 0.05 --T 1"
)
ONLINE_METHODS=" dafl zskt dfq dfad "

# shellcheck source=scripts/lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/flags.sh"

# set_method_flags ARRAY ROW [ADV OH]: set ROW's flags in the array named ARRAY, {adv} and {oh} filled with the
# pair's weights.
set_method_flags() {
    local flags=${METHOD_FLAGS[$2]:?unknown method row $2}
    flags=${flags//\{adv\}/${3:-}}
    set_flag_words "$1" "${flags//\{oh\}/${4:-}}"
}

# set_dataset_flags ARRAY METHOD DATASET [PAIR]: set METHOD's DATASET_FLAGS for DATASET, then its DATASET_PAIR_FLAGS
# for PAIR (a name of scripts/lib/pairs.sh), in the array named ARRAY (after set_method_flags).
set_dataset_flags() {
    set_flag_words "$1" "${DATASET_FLAGS[$2:$3]:-}"
    set_flag_words "$1" "${DATASET_PAIR_FLAGS[$2:$3:${4:-}]:-}"
}
