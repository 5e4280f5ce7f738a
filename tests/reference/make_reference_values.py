"""Computes tests/fixtures/reference_values.json with the reference code, on the inputs of tests/reference/common.py.

It runs only the reference repositories' own code, imported unmodified, on the deterministic models, images and
seeds of `common` (the module tests/test_reference_values.py imports too); nothing of this project is imported.

  zju-vipa/Fast-Datafree, commit 0dcecbc: FastSynthesizer (fast), FastMetaSynthesizer (fast_meta, FOMAML and
      Reptile), fast_meta's reset_l0, FastMetaSynthesizerForImageNet (fast_meta_imagenet, with its DeepGenerator,
      at 32 px, three calls), DeepInvSyntheiszer (deepinv) and the KD step of datafree_kd.train, with
      datafree_kd's criteria (KLDiv(T=--T) for fast, KLDiv() for dafl, L1Loss for dfad) and its SGD optimiser;
  zju-vipa/CMI, commit 9e79fa9: CMISynthesizer (cmi) and GenerativeSynthesizer for dafl, zskt, dfq and dfad, built
      as its datafree_kd.py does (the student passed as the student, KLDiv() or, for dfad, L1Loss as criterion);
  tmtuan1307/NAYER, commit c6bedcd: its NAYER synthesizer (nayer) and NLGenerator: the generator's forward (train
      and eval mode, a batch of 25 whose third noisy layer takes a partial block, and one of 20), re_init_le() and
      reinit() after torch.manual_seed(common.NAYER_REINIT_SEED), and synthesize() calls: two calls of one loop past
      warm-up (the second with the BN statistics blended at bn_mmt 0.9), each term alone, a first call (generator
      rebuilt, gwp_loops 2 loops) and a call of g_loops 2 loops with the adversarial term alone (from a second
      loop or call on only the losses: the generator and pool batch are recorded after each call's first loop);
      NAYER's call counter `ep` is set before the first call (common.NAYER_EPOCH), so the adversarial term, which
      it turns on only once `ep` exceeds warmup, is on.

Models: each repository's registry.get_model("wrn16_1") (teacher) and ("resnet8") (student), its
datafree.models.generator.Generator (fast, fast_meta, cmi) or LargeGenerator (online methods) with nz 16 (32 for
DAFL), ngf 8, 32x32x3, and CMI's projection head; for NAYER its classifiers' wrn_16_1 and resnet8 (what its
registry maps those names to; its registry.py is not imported, as it imports pandas for dataset classes) and its
NLGenerator on common.class_embeddings (10 x 16, noisy layers 16 -> 24, ngf 8); every floating-point state_dict
entry set by common.fill_ with the salts in common. What is changed around the unmodified code, and why:
  * `.cuda()` of modules and tensors returns its argument (the reference moves clones and gradients to the GPU);
  * the random augmentations become deterministic, as the tests make them on this project's side:
    the crop + flip of fast, fast_meta, NAYER and CMI's global view and fast_meta_imagenet's resized crop + flip ->
    identity (then the normaliser), CMI's local
    view (resized crop + flip) -> a horizontal flip, DeepInversion's jitter_and_flip -> identity;
  * image pools write their PNGs into a temporary folder, deleted at the end, and the DataLoader that a pool-based
    synthesize() builds at its end is never iterated (no worker processes; sample() of those is not used);
  * torchvision.models.utils, which the reference's model registry imports and torchvision removed in 0.12, is
    registered as torch.hub (where load_state_dict_from_url moved); no pretrained weights are loaded;
  * xlsxwriter, which NAYER's fast_meta module (imported by its datafree.synthesis package) imports and never uses
    on these paths, is an empty stub module when it is not installed;
  * NAYER's prints (the targets, every step's terms) go to a discarded buffer.
Every synthesize() is preceded by torch.manual_seed(common.SEED) (a second call by SEED + 1), and Python's random by
the same seed (CMI draws its memory-bank rows with random.sample; the loss does not depend on their order).
A step's total loss is recorded at its `.backward()` (common.record_backward); a single term as the total loss of
a run with only that weight set (DeepInversion cannot run without its adversarial term: its terms are runs with
adv 1 plus one other weight, and its teacher and student BN terms are read from its hooks after a one-step run);
parameters and samples as common.checksums (NAYER's pool batches as its synthesize() returns them, before their
PNG quantisation). The tests compare at 1e-5 relative (see their module docstring).

How to run it (CPU, float32; well under a minute):
  1. The reference code at the pinned commits, anywhere outside this project:
       git clone https://github.com/zju-vipa/Fast-Datafree fast-datafree
       git -C fast-datafree checkout 0dcecbc178b87048bedf730acb577045b3c0b57a
       git clone https://github.com/zju-vipa/CMI cmi
       git -C cmi checkout 9e79fa9e2328205f26dbdb226878f3a28f3bf4cc
       git clone https://github.com/tmtuan1307/NAYER nayer
       git -C nayer checkout c6bedcd49ad7362ff3dc5697202d97e303919a05
     (an extracted archive of those commits works too: the script then checks the files it uses by their git blob
     hashes instead of the checkout's HEAD).
  2. A scratch virtual environment outside the project, so the reference's extra packages stay out of it:
       python3.11 -m venv ref-env
       ref-env/bin/pip install torch==2.14.1 torchvision==0.29.1 numpy pillow scipy tqdm kornia==0.9.0 termcolor
     (the CPU build of torch is enough; kornia and termcolor are imported by the reference's modules only, and
     neither belongs in this project's requirements).
  3. From the project's root:
       ref-env/bin/python tests/reference/make_reference_values.py --fast_datafree fast-datafree --cmi cmi --nayer nayer
     It writes tests/fixtures/reference_values.json (--out to write elsewhere) and prints every recorded loss term;
     it stops if a term the tests rely on is exactly 0. Then run tests/test_reference_values.py.
The values in the fixture were made with torch 2.14.1 and torchvision 0.29.1 on CPU, Python 3.11; another torch
version may differ in the last float32 digits, within the tests' tolerance.
"""
import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import types
import warnings

import torch

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)
from reference.common import (  # noqa: E402
    CMI,
    CMI_CR_ONLY,
    CMI_TERMS,
    DEEPINV,
    DEEPINV_RUNS,
    FAST,
    FAST_META_IMAGENET,
    FAST_META_IMAGENET_CALLS,
    FAST_TERMS,
    GENERATOR_SALT,
    HEAD_SALT,
    IMG_SHAPE,
    KD_BATCH,
    KD_LR,
    KD_MOMENTUM,
    KD_TEMPERATURES,
    KD_WEIGHT_DECAY,
    LATENT_SEED,
    MEAN,
    NAYER,
    NAYER_B,
    NAYER_EMB_DIM,
    NAYER_EPOCH,
    NAYER_FORWARD_BATCHES,
    NAYER_HIDDEN,
    NAYER_REINIT_SEED,
    NAYER_TERMS,
    NGF,
    NUM_CLASSES,
    NZ,
    ONLINE,
    ONLINE_TERMS,
    ONLINE_WEIGHTS,
    SAMPLE_SEED,
    SEED,
    STD,
    STUDENT_SALT,
    TEACHER_SALT,
    B,
    checksums,
    class_embeddings,
    fill_,
    fixed_images,
    online_nz,
    record_backward,
)

PINNED = {"fast_datafree": "0dcecbc178b87048bedf730acb577045b3c0b57a",
          "cmi": "9e79fa9e2328205f26dbdb226878f3a28f3bf4cc",
          "nayer": "c6bedcd49ad7362ff3dc5697202d97e303919a05"}
# Git blob hashes, at the pinned commits, of every file whose code these values depend on.
BLOBS = {
    "fast_datafree": {
        "datafree/synthesis/fast.py": "75c12e089034e22da30ccc54125efdf951bd1478",
        "datafree/synthesis/fast_meta.py": "e26e568fc888f6bbbab8de52a9467f6a8a1ee916",
        "datafree/synthesis/deepinversion.py": "4ac92bf0e0bdfe2011cb130abb3fb99e0f34b7ae",
        "datafree/criterions.py": "2300005c683a9561dfa6f5c7c7bbd07ad4e3bacc",
        "datafree/hooks.py": "ab113d010aa4c1f75c64c9c1075e7351b9066122",
        "datafree/utils/_utils.py": "0b26d31ce5f1bfad02c41a81a800a9e6d529476e",
        "datafree/models/generator.py": "2a89a08d1f04f0bb678e29d5f0c7a90682401a10",
        "datafree/models/classifiers/wresnet.py": "2f37676dc13ab50533fc8c688dffc4c43ef5f2a9",
        "datafree/models/classifiers/resnet_tiny.py": "6a704a3251681c8567cbebe7e9d3d1398abcc194",
        "registry.py": "a003bd3495debe83b507d46c8ed04d3c023924aa",
        "datafree_kd.py": "3dfb4fc2af0e4292efd3ce21208278e41bba4e79",
    },
    "cmi": {
        "datafree/synthesis/contrastive.py": "521a5fdbaf4c134e45e1d5d8c945cfc614805477",
        "datafree/synthesis/generative.py": "496dd55f5da5f9bb3c7de2b1ea216d9e5cfb58e1",
        "datafree/criterions.py": "2300005c683a9561dfa6f5c7c7bbd07ad4e3bacc",
        "datafree/hooks.py": "1893a5847bd11e0993cd51cd8b4cbe2b5459cb4f",
        "datafree/utils/_utils.py": "0b26d31ce5f1bfad02c41a81a800a9e6d529476e",
        "datafree/models/generator.py": "02407f9de285004780f861b0505b3083344397a3",
        "datafree/models/classifiers/wresnet.py": "2f37676dc13ab50533fc8c688dffc4c43ef5f2a9",
        "datafree/models/classifiers/resnet_tiny.py": "6a704a3251681c8567cbebe7e9d3d1398abcc194",
        "registry.py": "7b39fd49ae8c0360a747b6ca990013888a23bbc5",
    },
    "nayer": {
        "datafree/synthesis/nayer.py": "facf56d6951f372afcc9c6f3fd562d787db09116",
        "datafree/synthesis/base.py": "68dd634d6313a232a2f77670f9d51db1a84b7855",
        "datafree/criterions.py": "2300005c683a9561dfa6f5c7c7bbd07ad4e3bacc",
        "datafree/hooks.py": "ab113d010aa4c1f75c64c9c1075e7351b9066122",
        "datafree/utils/_utils.py": "1fa6280f6f164e1ba1beba9c482334b046c1ae5d",
        "datafree/models/generator.py": "aa47c142b1c605f3ec6835385f2bd69fa8b49e50",
        "datafree/models/classifiers/wresnet.py": "2f37676dc13ab50533fc8c688dffc4c43ef5f2a9",
        "datafree/models/classifiers/resnet_tiny.py": "6a704a3251681c8567cbebe7e9d3d1398abcc194",
    },
}


# ---------------------------------------------------------------------------------------------------------------
# The reference checkouts

def git_blob_hash(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_checkout(key, root, allow_mismatch):
    """Refuse (or, with --allow_mismatch, warn about) a checkout that is not the pinned commit."""
    problems = []
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = None
        print(f"note: {root} is not a git checkout; checking its files against the blobs of {PINNED[key][:7]}")
    if head is not None and head != PINNED[key]:
        problems.append(f"HEAD is {head}, not the pinned {PINNED[key]}")
    for rel, blob in BLOBS[key].items():
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            problems.append(f"{rel} is missing")
        elif git_blob_hash(path) != blob:
            problems.append(f"{rel} differs from the pinned commit's")
    if problems:
        message = f"--{key} {root}: " + "; ".join(problems)
        if not allow_mismatch:
            sys.exit(f"error: {message} (the reference values need commit {PINNED[key][:7]}; "
                     f"--allow_mismatch to go on anyway)")
        warnings.warn(message, stacklevel=2)


def import_reference(root, names):
    """Import `names` (module names) from the repository at `root`, after dropping any earlier `datafree`,
    `registry` or `datafree_kd` (both repositories use those names); returns {name: module}."""
    for name in list(sys.modules):
        if name in ("datafree", "registry", "datafree_kd") or name.startswith("datafree."):
            del sys.modules[name]
    root = os.path.abspath(root)
    sys.path.insert(0, root)
    try:
        modules = {name: __import__(name, fromlist=["_"]) for name in names}
    finally:
        sys.path.remove(root)
    for name, module in modules.items():
        if not os.path.abspath(module.__file__).startswith(root + os.sep):
            sys.exit(f"error: {name} was imported from {module.__file__}, not from {root}")
    return modules


def patch_environment():
    # The reference calls .cuda() on clones and gradients: keep everything on the CPU.
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    # Its model registry imports load_state_dict_from_url from where torchvision < 0.12 had it.
    shim = types.ModuleType("torchvision.models.utils")
    shim.load_state_dict_from_url = torch.hub.load_state_dict_from_url
    sys.modules["torchvision.models.utils"] = shim
    # NAYER's datafree.synthesis package imports its fast_meta module, which imports xlsxwriter (used there only to
    # write a spreadsheet, in code these runs never reach).
    if "xlsxwriter" not in sys.modules:
        sys.modules["xlsxwriter"] = types.ModuleType("xlsxwriter")


class NeverIterated:
    """Stands in for the reference's DataIter, which iterates its DataLoader (starting worker processes) at once."""

    def __init__(self, loader):
        self.loader = loader


# ---------------------------------------------------------------------------------------------------------------
# The runs

class Runs:
    def __init__(self, fast_datafree_root, cmi_root, nayer_root, workdir):
        self.workdir = workdir
        self.losses = record_backward(setattr)
        fast = import_reference(fast_datafree_root, [
            "datafree", "registry", "datafree_kd", "datafree.synthesis.fast", "datafree.synthesis.fast_meta",
            "datafree.synthesis.fast_meta_imagenet", "datafree.synthesis.deepinversion", "datafree.models.generator"])
        self.fast = types.SimpleNamespace(**{k.split(".")[-1]: v for k, v in fast.items()})
        cmi = import_reference(cmi_root, [
            "datafree", "registry", "datafree.synthesis.contrastive", "datafree.synthesis.generative",
            "datafree.models.generator"])
        self.cmi = types.SimpleNamespace(**{k.split(".")[-1]: v for k, v in cmi.items()})
        nayer = import_reference(nayer_root, [
            "datafree", "datafree.synthesis.nayer", "datafree.models.generator", "datafree.models.classifiers.wresnet",
            "datafree.models.classifiers.resnet_tiny"])
        self.nayer = types.SimpleNamespace(**{k.split(".")[-1]: v for k, v in nayer.items()})
        for module in (self.fast.fast, self.fast.fast_meta, self.fast.fast_meta_imagenet, self.fast.deepinversion,
                       self.cmi.contrastive, self.nayer.nayer):
            module.DataIter = NeverIterated
        # DeepInversion's random roll + flip -> identity (the module-level function its synthesize() calls).
        self.fast.deepinversion.jitter_and_flip = lambda x: x

    def save_dir(self, name):
        return tempfile.mkdtemp(prefix=name + "-", dir=self.workdir)

    def run(self, synth, seed=SEED):
        """The total loss at every backward() of one synthesize() call."""
        self.losses.clear()
        torch.manual_seed(seed)
        random.seed(seed)
        synth.synthesize()
        return list(self.losses)

    @staticmethod
    def models(repo):
        teacher = fill_(repo.registry.get_model("wrn16_1", num_classes=NUM_CLASSES), TEACHER_SALT).eval()
        student = fill_(repo.registry.get_model("resnet8", num_classes=NUM_CLASSES), STUDENT_SALT).eval()
        return teacher, student

    # Fast-Datafree ---------------------------------------------------------------------------------------------

    def fast_synth(self, method, **kw):
        a = {**FAST, **kw}
        ref = self.fast
        teacher, student = self.models(ref)
        generator = fill_(ref.generator.Generator(nz=NZ, ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0]),
                          GENERATOR_SALT)
        cls = ref.fast.FastSynthesizer if method == "fast" else ref.fast_meta.FastMetaSynthesizer
        synth = cls(teacher, student, generator, nz=NZ, num_classes=NUM_CLASSES, img_size=IMG_SHAPE,
                    iterations=a["g_steps"], lr_g=a["lr_g"], synthesis_batch_size=B, sample_batch_size=B,
                    adv=a["adv"], bn=a["bn"], oh=a["oh"], save_dir=self.save_dir(method),
                    normalizer=ref.datafree.utils.Normalizer(MEAN, STD), device="cpu", lr_z=a["lr_z"],
                    warmup=a["warmup"], bn_mmt=a["bn_mmt"], is_maml=a["is_maml"])
        synth.aug = synth.normalizer   # crop + flip -> identity
        return synth

    def fast_values(self, method):
        synth = self.fast_synth(method)
        out = {"full_steps": self.run(synth), "full_steps_call2": self.run(synth, SEED + 1),
               "generator": checksums(synth.generator.state_dict().values())}
        for term, kw in FAST_TERMS.items():
            out[f"term_{term}"] = self.run(self.fast_synth(method, **kw))[0]
        if method == "fast_meta":
            synth = self.fast_synth(method, is_maml=0)   # Reptile
            self.run(synth)
            out["reptile_generator"] = checksums(synth.generator.state_dict().values())
        return out

    def imagenet_synth(self, **kw):
        """FastMetaSynthesizerForImageNet with its DeepGenerator (the spatial code's conv stem), built right after
        torch.manual_seed(LATENT_SEED): it draws its first latent code in its constructor."""
        a = {**FAST_META_IMAGENET, **kw}
        ref = self.fast
        teacher, student = self.models(ref)
        generator = fill_(ref.generator.DeepGenerator(nz=NZ, ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0]),
                          GENERATOR_SALT)
        torch.manual_seed(LATENT_SEED)
        with contextlib.redirect_stdout(io.StringIO()):   # it prints its augmentation
            synth = ref.fast_meta_imagenet.FastMetaSynthesizerForImageNet(
                teacher, student, generator, nz=NZ, num_classes=NUM_CLASSES, img_size=IMG_SHAPE,
                iterations=a["g_steps"], lr_g=a["lr_g"], lr_z=a["lr_z"], lr_g_meta=a["lr_g_meta"],
                reinit=a["reinit"], synthesis_batch_size=B, sample_batch_size=B,
                adv=a["adv"], bn=a["bn"], oh=a["oh"], bn_mmt=a["bn_mmt"], is_maml=a["is_maml"],
                save_dir=self.save_dir("fast_meta_imagenet"), normalizer=ref.datafree.utils.Normalizer(MEAN, STD),
                device="cpu")
        synth.aug = synth.normalizer   # resized crop + flip -> identity
        return synth

    def imagenet_values(self):
        """imagenet_calls, then each loss term alone (the first step of a fresh synthesizer with only that weight)."""
        return {**self.imagenet_calls(), **{f"term_{term}": self.run(self.imagenet_synth(**kw))[0]
                                             for term, kw in FAST_TERMS.items()}}

    def imagenet_calls(self):
        """Call 0 (seeded SEED): every step's loss, the batch it pools (its last step's, before the PNG
        quantisation), the generator after the meta step (without the Linear stem its DeepGenerator builds and never
        uses) and the latent code it keeps. Calls 1 and 2 (seeded SEED + 1, SEED + 2; the latter re-draws the code):
        their first step's loss only, which depends on the kept code, the meta-stepped generator and the re-draw.
        Their later steps, and the parameters after them, are not reproducible: the reference against itself at 1
        and 2 threads differs there (a first Adam step moves elements whose gradient is at float-noise level by up
        to +-lr either way: the code by up to 4e-3, a step's loss by 2e-5 relative)."""
        synth = self.imagenet_synth()
        pooled = []
        add = synth.data_pool.add
        synth.data_pool.add = lambda imgs, *args, **kwargs: (pooled.append(imgs.detach().clone()),
                                                             add(imgs, *args, **kwargs))
        out = {"z_initial": checksums([synth.z]), "call0_steps": self.run(synth, SEED),
               "call0_pool": checksums([pooled[-1]]),
               "call0_generator": checksums(v for k, v in synth.generator.state_dict().items()
                                            if not k.startswith("l1.")),
               "call0_z": checksums([synth.z])}
        for call in range(1, FAST_META_IMAGENET_CALLS):
            out[f"call{call}_first_step"] = self.run(synth, SEED + call)[0]
        return out

    def reset_l0_values(self):
        generator = fill_(self.fast.generator.Generator(nz=NZ, ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0]),
                          GENERATOR_SALT)
        torch.manual_seed(SEED)
        self.fast.fast_meta.reset_l0(generator)
        return {name: checksums([value])[0] for name, value in generator.state_dict().items()}

    def deepinv_synth(self, **kw):
        a = {**DEEPINV, **kw}
        teacher, student = self.models(self.fast)
        return self.fast.deepinversion.DeepInvSyntheiszer(
            teacher, student, num_classes=NUM_CLASSES, img_size=IMG_SHAPE, iterations=a["g_steps"], lr_g=a["lr_g"],
            synthesis_batch_size=B, sample_batch_size=B, adv=a["adv"], bn=a["bn"], oh=a["oh"], tv=a["tv"],
            l2=a["l2"], save_dir=self.save_dir("deepinv"), normalizer=self.fast.datafree.utils.Normalizer(MEAN, STD),
            device="cpu")

    def deepinv_values(self):
        assert DEEPINV["g_steps"] == 1, "the BN terms are read from the hooks of the last (only) step"
        synth = self.deepinv_synth()
        out = {"full": self.run(synth)[0],
               "teacher_bn": sum(h.r_feature for h in synth.hooks).item(),
               "student_bn": sum(h.r_feature for h in synth.s_hooks).item()}
        for name, kw in DEEPINV_RUNS.items():
            out[name] = self.run(self.deepinv_synth(**kw))[0]
        return out

    def kd_values(self, method, T):
        """One step of Fast-Datafree's datafree_kd.train on a fixed batch, with the criterion its main_worker
        builds for `method` and its SGD optimiser."""
        ref = self.fast
        teacher, student = self.models(ref)
        images = ref.datafree.utils.Normalizer(MEAN, STD)(fixed_images(KD_BATCH))
        optimizer = torch.optim.SGD(student.parameters(), KD_LR, weight_decay=KD_WEIGHT_DECAY, momentum=KD_MOMENTUM)
        online = method in ("zskt", "dfad", "dfq", "dafl")
        if online:
            criterion = torch.nn.L1Loss() if method == "dfad" else ref.datafree.criterions.KLDiv()
        else:
            criterion = ref.datafree.criterions.KLDiv(T=T)

        class OneBatch:   # train() reads (images, seconds) from the online synthesizers, images from the others
            def sample(self):
                return (images, 0.0) if online else images

        args = argparse.Namespace(kd_steps=1, method=method, gpu=None, autocast=ref.datafree.utils.dummy_ctx,
                                  fp16=False, print_freq=0, current_epoch=0)
        self.losses.clear()
        ref.datafree_kd.train(OneBatch(), [student, teacher], criterion, optimizer, args)
        assert len(self.losses) == 1
        return {"loss": self.losses[0], "student": checksums(student.state_dict().values())}

    # CMI -------------------------------------------------------------------------------------------------------

    def cmi_synth(self, **kw):
        a = {**CMI, **kw}
        ref = self.cmi
        teacher, student = self.models(ref)
        generator = fill_(ref.generator.Generator(nz=NZ, ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0]),
                          GENERATOR_SALT)
        normalizer = ref.datafree.utils.Normalizer(MEAN, STD)
        with contextlib.redirect_stdout(io.StringIO()):   # it prints the feature size
            synth = ref.contrastive.CMISynthesizer(
                teacher, student, generator, nz=NZ, num_classes=NUM_CLASSES, img_size=IMG_SHAPE,
                bank_size=a["bank_size"], n_neg=a["n_neg"], head_dim=a["head_dim"], iterations=a["g_steps"],
                lr_g=a["lr_g"], synthesis_batch_size=B, sample_batch_size=B, adv=a["adv"], bn=a["bn"], oh=a["oh"],
                cr=a["cr"], cr_T=a["cr_T"], save_dir=self.save_dir("cmi"), normalizer=normalizer, device="cpu")
        fill_(synth.head, HEAD_SALT)
        # global view: crop + flip -> identity; local view: resized crop + flip -> a horizontal flip
        synth.aug = lambda x: [normalizer(x), normalizer(x.flip(3))]
        return synth

    def cmi_values(self):
        synth = self.cmi_synth()
        out = {"full_call1": self.run(synth)[0], "full_call2": self.run(synth, SEED + 1)[0],
               "bank": checksums([synth.mem_bank.data[:B]]),
               "head": checksums(synth.head.state_dict().values())}
        synth = self.cmi_synth(**CMI_CR_ONLY)
        out["cr_call1"] = self.run(synth)[0]
        out["cr_call2"] = self.run(synth, SEED + 1)[0]
        for term, kw in CMI_TERMS.items():
            out[f"term_{term}"] = self.run(self.cmi_synth(**kw))[0]
        return out

    def online_synth(self, method, **weights):
        ref = self.cmi
        teacher, student = self.models(ref)
        nz = online_nz(method)
        generator = fill_(ref.generator.LargeGenerator(nz=nz, ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0]),
                          GENERATOR_SALT)
        criterion = torch.nn.L1Loss() if method == "dfad" else ref.datafree.criterions.KLDiv()
        return ref.generative.GenerativeSynthesizer(
            teacher=teacher, student=student, generator=generator, nz=nz, img_size=IMG_SHAPE,
            iterations=ONLINE["g_steps"], lr_g=ONLINE["lr_g"], synthesis_batch_size=B, sample_batch_size=B,
            criterion=criterion, normalizer=ref.datafree.utils.Normalizer(MEAN, STD), device="cpu", **weights)

    def online_values(self, method):
        synth = self.online_synth(method, **ONLINE_WEIGHTS[method])
        out = {"total": self.run(synth)[0], "generator": checksums(synth.generator.state_dict().values())}
        torch.manual_seed(SAMPLE_SEED)
        out["sample"] = checksums([synth.sample()])
        for term in ONLINE_TERMS:
            out[f"term_{term}"] = self.run(self.online_synth(method, **{term: 1.0}))[0]
        return out


    # NAYER ------------------------------------------------------------------------------------------------------

    def nayer_generator(self, batch):
        """Its NLGenerator as its datafree_kd.py builds it for CIFAR (nl = classes, sbz = the synthesis batch),
        with the embedding width le_size given, since `class_embeddings` is not 512 wide."""
        ref = self.nayer.generator
        generator = ref.NLGenerator(ngf=NGF, img_size=IMG_SHAPE[-1], nc=IMG_SHAPE[0], nl=NUM_CLASSES,
                                    label_emb=class_embeddings(), le_emb_size=NAYER_HIDDEN, le_size=NAYER_EMB_DIM,
                                    sbz=batch)
        return fill_(generator, GENERATOR_SALT)

    def nayer_synth(self, epoch=NAYER_EPOCH, **kw):
        a = {**NAYER, **kw}
        ref = self.nayer
        # The models its registry maps "wrn16_1" and "resnet8" to (its registry.py itself imports pandas, for
        # dataset classes, so the two constructors are called directly).
        teacher = fill_(ref.wresnet.wrn_16_1(num_classes=NUM_CLASSES), TEACHER_SALT).eval()
        student = fill_(ref.resnet_tiny.resnet8(num_classes=NUM_CLASSES), STUDENT_SALT).eval()
        synth = ref.nayer.NAYER(
            teacher, student, self.nayer_generator(NAYER_B), num_classes=NUM_CLASSES, img_size=IMG_SHAPE,
            g_steps=a["g_steps"], lr_g=a["lr_g"], synthesis_batch_size=NAYER_B, sample_batch_size=NAYER_B,
            adv=a["adv"], bn=a["bn"], oh=a["oh"], save_dir=self.save_dir("nayer"),
            normalizer=ref.datafree.utils.Normalizer(MEAN, STD), device="cpu", warmup=a["warmup"],
            bn_mmt=a["bn_mmt"], g_life=a["g_life"], g_loops=a["g_loops"], gwp_loops=a["gwp_loops"])
        synth.aug = synth.normalizer   # crop + flip -> identity
        synth.ep = epoch
        return synth

    @staticmethod
    def named_checksums(module):
        return {name: checksums([value])[0] for name, value in module.state_dict().items()}

    def nayer_values(self):
        out = {}
        # a. the generator's forward (train mode: batch statistics; eval mode: the filled running statistics) on
        #    class-balanced targets 0..C-1, 0..C-1, ...
        for batch in NAYER_FORWARD_BATCHES:
            targets = torch.arange(batch) % NUM_CLASSES
            for mode in ("train", "eval"):
                generator = self.nayer_generator(batch).train(mode == "train")
                with torch.no_grad():
                    out[f"forward_{batch}_{mode}"] = checksums([generator(targets=targets)])
        # b, c. one call of one loop (adversarial term on), then a second call (the BN momentum blending in). Only
        # the losses are recorded from a second loop or call on: its parameters (and so its pool batch) are not
        # reproducible at the tests' tolerance, not even by the reference against itself (see common.NAYER).
        synth = self.nayer_synth()
        out["full_steps"], pool, generators = self.nayer_synth_call(synth)
        out["pool"] = checksums(pool)
        out["generator"] = generators[0]
        out["full_steps_call2"] = self.nayer_synth_call(synth, SEED + 1)[0]
        for term, kw in NAYER_TERMS.items():
            out[f"term_{term}"] = self.nayer_synth_call(self.nayer_synth(**kw))[0][0]
        # c. a first call (counter 0): the generator rebuilt, warm-up's gwp_loops = 2 loops, no adversarial term
        out["warmup_steps"], pool, generators = self.nayer_synth_call(self.nayer_synth(epoch=0))
        assert len(pool) == 2
        out["warmup_pool_loop1"] = checksums(pool[:1])
        out["warmup_generator_loop1"] = generators[0]
        # c. a call after warm-up with g_loops = 2 loops, the adversarial term alone
        synth = self.nayer_synth(g_loops=2, **NAYER_TERMS["adv"])
        out["loops2_steps"], pool, generators = self.nayer_synth_call(synth)
        assert len(pool) == 2
        out["loops2_pool_loop1"] = checksums(pool[:1])
        out["loops2_generator_loop1"] = generators[0]
        # d. the noisy layers re-drawn (re_init_le), and the whole generator rebuilt (reinit), from a filled one
        generator = self.nayer_generator(NAYER_FORWARD_BATCHES[0])
        torch.manual_seed(NAYER_REINIT_SEED)
        generator.re_init_le()
        out["re_init_le"] = self.named_checksums(generator)
        torch.manual_seed(NAYER_REINIT_SEED)
        out["reinit"] = self.named_checksums(generator.reinit())
        return out

    def nayer_synth_call(self, synth, seed=SEED):
        """The total loss at every backward() of one synthesize() call (its prints silenced), the batches its loops
        added to the pool (as synthesize() returns them, before the PNG quantisation) and the generator's
        named_checksums when each was added (its pool's add() observed, not changed)."""
        generators = []
        add = synth.data_pool.add

        def observed_add(imgs, *args, **kwargs):
            generators.append(self.named_checksums(synth.generator))
            return add(imgs, *args, **kwargs)

        synth.data_pool.add = observed_add
        self.losses.clear()
        torch.manual_seed(seed)
        random.seed(seed)
        with contextlib.redirect_stdout(io.StringIO()):
            result = synth.synthesize()[0]
        return list(self.losses), result["synthetic"], generators


def loss_terms(values):
    """(name, value) of every recorded loss (not the parameter checksums)."""
    for method, entries in values.items():
        if method.startswith("_"):
            continue
        for key, value in entries.items():
            if method == "kd_step":
                yield f"kd_step.{key}.loss", value["loss"]
            elif isinstance(value, float):
                yield f"{method}.{key}", value
            elif key.startswith("full_steps") or key.endswith("_steps"):
                for i, v in enumerate(value):
                    yield f"{method}.{key}[{i}]", v


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast_datafree", required=True, help="checkout of zju-vipa/Fast-Datafree at 0dcecbc")
    parser.add_argument("--cmi", required=True, help="checkout of zju-vipa/CMI at 9e79fa9")
    parser.add_argument("--nayer", required=True, help="checkout of tmtuan1307/NAYER at c6bedcd")
    parser.add_argument("--out", default=os.path.join(TESTS, "fixtures", "reference_values.json"))
    parser.add_argument("--allow_mismatch", action="store_true",
                        help="go on (with a warning) when a checkout is not the pinned commit")
    args = parser.parse_args()
    check_checkout("fast_datafree", args.fast_datafree, args.allow_mismatch)
    check_checkout("cmi", args.cmi, args.allow_mismatch)
    check_checkout("nayer", args.nayer, args.allow_mismatch)
    torch.set_num_threads(1)   # one fixed reduction order
    patch_environment()
    # The DataLoaders the pool-based synthesizers build (never iterated here) ask for 4 workers.
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    with tempfile.TemporaryDirectory() as workdir:
        runs = Runs(args.fast_datafree, args.cmi, args.nayer, workdir)
        values = {
            "_provenance": {"script": "tests/reference/make_reference_values.py",
                            "zju-vipa/Fast-Datafree": PINNED["fast_datafree"], "zju-vipa/CMI": PINNED["cmi"],
                            "tmtuan1307/NAYER": PINNED["nayer"],
                            "torch": torch.__version__, "dtype": "float32", "device": "cpu"},
            "fast": runs.fast_values("fast"),
            "fast_meta": runs.fast_values("fast_meta"),
            "fast_meta_imagenet": runs.imagenet_values(),
            "reset_l0": runs.reset_l0_values(),
            "deepinv": runs.deepinv_values(),
            "kd_step": {method: runs.kd_values(method, T) for method, T in KD_TEMPERATURES.items()},
            "cmi": runs.cmi_values(),
        }
        for method in ONLINE_WEIGHTS:
            values[method] = runs.online_values(method)
        values["nayer"] = runs.nayer_values()
    zero = []
    for name, value in loss_terms(values):
        print(f"{name:32s} {value: .9g}")
        if value == 0.0:
            zero.append(name)
    if zero:
        sys.exit("error: these terms are exactly 0, so the tests could not tell them from a missing term: "
                 + ", ".join(zero))
    with open(args.out, "w") as f:
        json.dump(values, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
