#!/usr/bin/env bash
# Upstream's per-method settings (SPEC sections 4 and 6), shared by scripts/*_cifar.sh and
# benchmarks/reproduce_fmnist.sh. Keys are run names: METHOD or METHOD-VARIANT (fast_meta-2 is Fast-2).
# {adv} and {oh} are filled with the pair's weights from scripts/lib/pairs.sh.
FAST_COMMON="--batch_size 256 --lr 0.2 --kd_steps 400 --ep_steps 400 --adv {adv} --bn 10.0 --oh {oh} --act 0
             --balance 0 --T 20 --bn_mmt 0.9 --warmup 20 --epochs 220 --reset_l0 1 --reset_bn 0"
FAST_META="$FAST_COMMON --is_maml 1"
POOL_BASE="--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 400 --ep_steps 400"
ONLINE_BASE="--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 5 --ep_steps 400 --g_steps 1 --lr_g 1e-3"
declare -A METHOD_FLAGS=(
    [fast_meta-2]="$FAST_META --g_steps 2 --lr_z 0.015 --lr_g 5e-3"
    [fast_meta-5]="$FAST_META --g_steps 5 --lr_z 0.01 --lr_g 3e-3"
    [fast_meta-10]="$FAST_META --g_steps 10 --lr_z 0.01 --lr_g 2e-3"
    [fast]="$FAST_COMMON --g_steps 2 --lr_z 0.015 --lr_g 5e-3"
    [deepinv]="$POOL_BASE --g_steps 1000 --lr_g 0.1 --adv 1 --bn 10 --oh 1 --T 20 --act 0 --balance 0"
    [cmi]="$POOL_BASE --g_steps ${G_STEPS:-500} --lr_g 1e-3 --adv 0.5 --bn 1.0 --oh 1.0 --cr 0.8 --cr_T 0.2 --act 0
           --balance 0 --T 20"
    [dafl]="$ONLINE_BASE --oh 1 --act 0.1 --balance 5 --adv 0 --bn 0 --T 20"
    [zskt]="$ONLINE_BASE --adv 1 --bn 0 --oh 0 --act 0 --balance 0 --T 1"
    [dfq]="$ONLINE_BASE --adv 1 --bn 1 --oh 1 --act 0 --balance 20 --T 20"
    [dfad]="$ONLINE_BASE --adv 1 --bn 0 --oh 0 --act 0 --balance 0"
)
ONLINE_METHODS=" dafl zskt dfq dfad "
