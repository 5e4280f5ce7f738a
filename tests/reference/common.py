"""The deterministic inputs that tests/test_reference_values.py and make_reference_values.py share.

Both import everything from here (weights, images, checksums, batch size, seeds, salts and every hyperparameter of
the compared runs), so the two sides cannot drift apart. Only torch is imported: the generator script runs the
reference code with these helpers and nothing of this project."""
import torch

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)   # CIFAR-10's normaliser
NUM_CLASSES, IMG_SHAPE = 10, (3, 32, 32)
B, NZ, NGF, SEED = 4, 16, 8, 1234   # batch size, latent size, generator width, seed before a first synthesize()

# fill_ salts. The student's salt makes its argmax agree with the teacher's on some but not all of the B samples of
# the first step of fast/fast_meta and of CMI (1 of 4 in each), so the adversarial term (a KL masked to those
# samples) is non-zero and the mask is exercised both ways. With the earlier salt 0.5 no sample agreed and the
# term was exactly 0. On a 0.05 grid of salts only 0.9 and 3.9 give such a partial agreement in both; 3.9 was
# rejected: there a ReLU of the teacher sits so close to its kink in fast_meta's second call that float32 noise
# (inputs equal to 2e-7) decides its side, which changes that call's meta gradient by ~6% in one implementation
# and not the other, and the generator checksums then differ for no reason but rounding.
TEACHER_SALT, STUDENT_SALT, GENERATOR_SALT, HEAD_SALT = 0.0, 0.9, 0.25, 0.75

# Settings of the compared runs, in this project's names (the reference calls g_steps `iterations`).
FAST = dict(g_steps=2, lr_g=5e-3, lr_z=0.015, adv=1.1, bn=10.0, oh=0.4, bn_mmt=0.9, warmup=0, is_maml=1)
# Upstream's ImageNet synthesizer (fast_meta_imagenet), at 32 px (its code is size-agnostic; the latent code is then
# nz x 2 x 2): three calls, the third re-drawing the code (reinit 3); a meta learning rate large enough that the
# generator's meta step shows in the checksums. (Its --lr_z_meta has no effect: see datafree/synthesis/
# fast_meta_imagenet.py; the reference runs with its default.)
FAST_META_IMAGENET = dict(g_steps=2, lr_g=5e-3, lr_z=0.015, lr_g_meta=2e-3, adv=1.1, bn=10.0, oh=0.4, bn_mmt=0.9,
                          is_maml=0, reinit=3)
FAST_META_IMAGENET_CALLS = 3
# Seed before fast_meta_imagenet's synthesizer is built (it draws its first code then). Of the offsets 20-59, only 59
# makes the student agree with the teacher on a sample of the first step, so the masked adversarial term is non-zero.
LATENT_SEED = SEED + 59
DEEPINV = dict(g_steps=1, lr_g=0.1, adv=1.0, bn=10.0, oh=1.0, tv=0.0, l2=0.0)
CMI = dict(g_steps=1, lr_g=1e-3, adv=0.5, bn=1.0, oh=1.0, cr=0.8, cr_T=0.2, bank_size=16, n_neg=8, head_dim=8)
# Single terms: a run with only that weight set (DeepInversion cannot run without its adversarial term, so its other
# terms come with adv 1).
FAST_TERMS = {"bn": dict(adv=0, oh=0, bn=1), "oh": dict(adv=0, bn=0, oh=1), "adv": dict(bn=0, oh=0, adv=1)}
CMI_TERMS = {"bn": dict(adv=0, oh=0, cr=0), "oh": dict(adv=0, bn=0, cr=0), "adv": dict(bn=0, oh=0, cr=0, adv=1.0)}
CMI_CR_ONLY = dict(bn=0, oh=0, adv=0, cr=1.0)
DEEPINV_RUNS = {"adv_only": dict(bn=0, oh=0), "adv_oh": dict(bn=0, oh=1), "adv_tv": dict(bn=0, oh=0, tv=1.0),
                "adv_l2": dict(bn=0, oh=0, l2=1.0)}
ONLINE_WEIGHTS = {"dafl": dict(oh=1, act=0.001, balance=20), "zskt": dict(adv=1),
                  "dfq": dict(adv=1, bn=1, oh=1, balance=20), "dfad": dict(adv=1)}
ONLINE = dict(g_steps=1, lr_g=1e-3)
ONLINE_TERMS = ("adv", "bn", "oh", "act", "balance")
SAMPLE_SEED = SEED + 7   # seed before the online generator's sample() (drawn in eval mode)
# NAYER: its NLGenerator (our NoisyLayerGenerator) on a (C, d) class embedding from `class_embeddings`, noisy
# layers d -> NAYER_HIDDEN (the reference's le_size and le_emb_size), ngf NGF, 32x32x3, filled with GENERATOR_SALT.
NAYER_EMB_DIM, NAYER_HIDDEN = 16, 24
NAYER_FORWARD_BATCHES = (25, 20)   # 25: the third noisy layer takes a partial block of 5 rows; 20: two full blocks
# Synthesis batch: not a multiple of C, so the second noisy layer serves 2 rows and 2 targets are drawn at random
# (both sides draw them with the same torch.randint call, after re-drawing the noisy layers).
NAYER_B = 12
# lr_g 2e-4, not the reference's 4e-3: from the second loop (or call) on, the BN term's gradient is small and a ReLU
# of the teacher sits at its kink, so float32 rounding (the reference against itself at 1 vs 2 threads) flips the
# sign of some elements' gradients, which a fresh Adam's first step turns into +-lr moves; at 4e-3 the losses of
# those steps then differ by up to 1e-4 (relative) between two runs of the same code, at 2e-4 by less than 1e-6 (the
# parameters still differ there by a few lr: only those after a call's first loop are recorded).
NAYER = dict(g_steps=3, lr_g=2e-4, adv=1.33, bn=10.0, oh=0.5, bn_mmt=0.9, warmup=1, g_life=10, g_loops=1,
             gwp_loops=2)
# The synthesizer's call counter before the first recorded call: the generator is not rebuilt ((2 - 1) % 10 and
# 2 % 10 are not 0) and the adversarial term is on (the counter, 3 after the call's increment, exceeds warmup 1).
# A counter of 0 instead rebuilds it and runs gwp_loops loops without the adversarial term. With these inputs the
# student's argmax agrees with the teacher's on 3 of the 12 samples of the first step, so the masked KL is non-zero.
NAYER_EPOCH = 2
NAYER_TERMS = FAST_TERMS
NAYER_REINIT_SEED = SEED + 11   # seed before the noisy-layer re-draw and before the whole-generator rebuild
# One KD step on Normalizer(fixed_images(KD_BATCH)): SGD(lr, weight_decay, momentum 0.9); criterion per method.
KD_BATCH, KD_LR, KD_WEIGHT_DECAY, KD_MOMENTUM = 8, 0.2, 1e-4, 0.9
KD_TEMPERATURES = {"fast": 20.0, "dafl": 20.0, "dfad": 20.0}   # --T given; dafl and dfad ignore it


def online_nz(method):
    return 2 * NZ if method == "dafl" else NZ   # the reference uses nz 512 for DAFL, 256 for the others


def class_embeddings(num_classes=NUM_CLASSES, dim=NAYER_EMB_DIM):
    """A deterministic (num_classes, dim) float32 class embedding in [-1, 1] (NAYER's CLIP text vectors' role)."""
    i = torch.arange(num_classes * dim, dtype=torch.float64)
    return (torch.sin(0.61 * i + 0.3) * torch.cos(0.047 * i)).view(num_classes, dim).float()


def fill_(module, salt=0.0):
    """Deterministic weights: entry i of the k-th state_dict tensor (sorted names) from a sine hash in [-1, 1),
    scaled per kind (BN running var in [0.5, 1], BN weight 1 +- 0.1, biases +-0.05, weights +-sqrt(3/fan_in)).
    Integer entries (num_batches_tracked) are left as they are."""
    sd = module.state_dict()
    with torch.no_grad():
        for k, name in enumerate(sorted(sd)):
            t = sd[name]
            if not t.is_floating_point():
                continue
            i = torch.arange(t.numel(), dtype=torch.float64)
            h = torch.sin(i * 12.9898 + (k + 1) * 78.233 + salt) * 43758.5453
            wave = 2 * (h - torch.floor(h)) - 1
            if name.endswith("running_var"):
                val = 0.5 + 0.5 * wave ** 2
            elif name.endswith("running_mean"):
                val = 0.1 * wave
            elif t.dim() == 1 and name.endswith("weight"):
                val = 1.0 + 0.1 * wave
            elif name.endswith("bias"):
                val = 0.05 * wave
            else:
                val = wave * (3.0 / t[0].numel()) ** 0.5
            t.copy_(val.view_as(t).to(t.dtype))
    return module


def checksums(tensors):
    """[sum, sum of squares, sum weighted by sin(0.731 i)] of each tensor, in float64."""
    out = []
    for t in tensors:
        t = t.detach().double().flatten()
        w = torch.sin(torch.arange(t.numel(), dtype=torch.float64) * 0.731)
        out.append([t.sum().item(), (t * t).sum().item(), (t * w).sum().item()])
    return out


def fixed_images(n, c=3, h=32, w=32, salt=0.0):
    """n images in [0.05, 0.95] from a product of sines (the KD step's input, before normalisation)."""
    i = torch.arange(n * c * h * w, dtype=torch.float64)
    return (0.5 + 0.45 * torch.sin(0.113 * i + salt) * torch.cos(0.0071 * i)).view(n, c, h, w).float()


def record_backward(patch):
    """Make every Tensor.backward() first append the (float64) sum of the tensor it is called on to the returned
    list: the total loss of each step, as the reference values are recorded. `patch(torch.Tensor, "backward", fn)`
    installs the wrapper (pytest's monkeypatch.setattr, or setattr)."""
    recorded = []
    real = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        recorded.append(self.detach().double().sum().item())
        return real(self, *args, **kwargs)

    patch(torch.Tensor, "backward", backward)
    return recorded
