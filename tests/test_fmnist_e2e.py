"""End to end on real Fashion-MNIST (CPU, a few minutes): a teacher trained on real data, then fast_meta
distills a student from synthetic images only, against a control distilled from Gaussian noise."""
from test_fmnist_data import needs_fmnist
from torch.utils.data import Subset

import datafree_kd
import registry
import train_scratch
from engine.memdata import TensorImages


def first_images(dataset, n):
    return dataset.subset(range(n)) if isinstance(dataset, TensorImages) else Subset(dataset, range(n))


SCHEDULE = ["--epochs", "30", "--warmup", "2", "--ep_steps", "20", "--kd_steps", "20", "--batch_size", "128",
            "--synthesis_batch_size", "128", "--eval_every", "10", "-j", "0", "--seed", "0", "--T", "20", "--lr", "0.1"]
FAST_META = ["--g_steps", "2", "--lr_g", "5e-3", "--lr_z", "0.015", "--bn", "10", "--oh", "0.4", "--adv", "1.1",
             "--bn_mmt", "0.9", "--is_maml", "1", "--ngf", "32"]


@needs_fmnist
def test_fast_meta_learns_from_a_real_teacher_and_beats_noise(tmp_path, monkeypatch):
    real_get_dataset = registry.get_dataset

    def fewer_training_images(name, data_root="data", in_memory=False):
        num_classes, train, val = real_get_dataset(name, data_root, in_memory=in_memory)
        return num_classes, first_images(train, 20000), val   # the test split stays whole

    monkeypatch.setattr(registry, "get_dataset", fewer_training_images)
    teacher = train_scratch.main(["--model", "wrn16_1", "--dataset", "fmnist", "--epochs", "4", "--lr", "0.1",
                                  "-b", "128", "-j", "0", "--seed", "0", "--channels_last",
                                  "--save_dir", str(tmp_path / "teacher")])
    assert teacher["best_acc1"] > 80
    models = ["--dataset", "fmnist", "--teacher", "wrn16_1", "--student", "resnet8", "--channels_last",
              "--teacher_ckpt", str(tmp_path / "teacher" / "fmnist_wrn16_1.pth")]
    fast = datafree_kd.main(["--method", "fast_meta", *models, *SCHEDULE, *FAST_META,
                             "--save_dir", str(tmp_path / "fast_meta")])
    noise = datafree_kd.main(["--method", "noise", *models, *SCHEDULE, "--save_dir", str(tmp_path / "noise")])
    print(f"teacher {teacher['best_acc1']:.2f}  fast_meta {fast['last_acc1']:.2f}  noise {noise['last_acc1']:.2f}")
    assert fast["last_acc1"] >= 50
    assert fast["last_acc1"] > noise["last_acc1"] + 20
