#!/usr/bin/env bash
# The paper's ImageNet runs (Fast-50) as upstream ran them: its fast_meta_imagenet.py synthesizer
# (--method fast_meta_imagenet) with the settings of its three ImageNet logs (logs/log-imagenet-*-FastDFKD_50.txt):
# ResNet-50 teacher -> ResNet-50 / ResNet-18 / MobileNetV2 students, batch 100, 50 generator steps, 10 x (synthesis +
# 100 KD steps) per epoch, 400 epochs, Reptile, the latent code re-drawn every 50 synthesis calls, the KD learning
# rate a cosine to 0, and a pre-inverted pool to start from (--cmi_init).
# Data: data/ILSVRC2012/{train,val}/<class>/<image> (only val is read). Teacher: torchvision's ResNet-50 weights
# at checkpoints/pretrained/imagenet_resnet50_imagenet.pth (datafree_kd.py says how to save them).
#   bash scripts/fast_imagenet.sh                     # the three runs, one after another (each resumes if cut)
#   ONLY=r18 bash scripts/fast_imagenet.sh            # one student (r50 r18 mbv2)
#   DRY_RUN=1 bash scripts/fast_imagenet.sh           # print the commands only
#   CMI_INIT=path/to/images bash scripts/fast_imagenet.sh   # the pre-inverted pool (default below; CMI_INIT= none)
#   PYTHON="torchrun --nproc_per_node 8" FLAGS="--fp16 --channels_last --data_root /data" bash scripts/fast_imagenet.sh
# (FLAGS are set on every run, replacing a value the script gives.) Every upstream log starts from a folder of
# images inverted by an earlier run (its `cmi_init: run/imagenet_reinit_reuse_onlyz_reinit`), which upstream does
# not publish; the README says what that means and lists what differs from upstream.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/flags.sh
ONLY=${ONLY:-}
CMI_INIT=${CMI_INIT-run/fast_imagenet/cmi_init}

# name student adv lr (the finished run of each upstream log)
STUDENTS=(
    "r50 resnet50_imagenet 0.1 0.1"
    "r18 resnet18_imagenet 1.0 0.1"
    "mbv2 mobilenetv2_imagenet 0.1 0.1"
)

for entry in "${STUDENTS[@]}"; do
    read -r name student adv lr <<<"$entry"
    if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
    cmd=("${PY[@]}" datafree_kd.py --method fast_meta_imagenet --dataset imagenet --teacher resnet50_imagenet
         --student "$student" --batch_size 100 --lr "$lr" --T 5 --epochs 400 --warmup 0 --weight_decay 1e-4
         --g_steps 50 --kd_steps 100 --ep_steps 1000 --adv "$adv" --bn 0.1 --oh 0.1 --act 0 --balance 0
         --lr_g 2e-4 --lr_z 0.01 --lr_g_meta 1e-4 --lr_z_meta 5e-3 --reinit 50 --bn_mmt 0.9 --is_maml 0
         --reptile_scale 1 --reset_l0 0 --reset_bn 0 --pool_batch last --synthesis_aug resized_crop
         --kd_aug resized_crop --eta_min 0 --seed 0
         --save_dir "run/fast_imagenet/r50-$name-50" --log_tag "$name-50" --resume auto)
    if [ -n "$CMI_INIT" ]; then
        cmd+=(--cmi_init "$CMI_INIT")
    fi
    set_flag_words cmd "${FLAGS:-}"
    run_cmd "${cmd[@]}"
done
