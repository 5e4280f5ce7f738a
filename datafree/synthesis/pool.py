"""In-memory pool of synthesized images, stored as uint8 (on the training device unless told otherwise), with
incremental persistence: checkpoints write only the images added since the previous one."""
import torch

from engine import distributed


class ImagePool:
    """uint8 images on `storage_device` (default: the training device), sampled onto `device`.

    With `max_size` > 0 only the newest `max_size` images are kept (a ring buffer): ImageNet-sized runs would
    otherwise hold every image ever synthesized.

    With a store attached (`attach_store`), `persist()` appends the images added since its previous call to the
    store and `state_dict()` holds only counts and the sampling order; without one it holds every image."""

    def __init__(self, device, capacity=1024, max_size=0, storage_device=None):
        self.device = device
        self.storage = storage_device or device
        self.max_size = max_size
        self.images = None
        self.size = 0
        self.next = 0           # ring-buffer write position once the pool is full
        self.capacity = capacity
        self.order = None       # the current pass's shuffled indices (reshuffled after every add)
        self.order_seed = None  # ... drawn from a generator seeded with this (a checkpoint holds the seed only)
        self.cursor = 0
        self.added = 0          # images ever added: image k of that sequence sits in slot _slots(k)
        self.store = None
        self.persisted = 0      # images of the sequence already in the store

    def attach_store(self, store, rewrite=False):
        """Persist into `store` from now on; `rewrite`: it holds nothing of this pool yet (a run resumed from a
        checkpoint in another folder), so the next persist() writes every image held."""
        self.store = store
        if rewrite:
            self.persisted = 0

    def __len__(self):
        return self.size

    def add(self, x):
        """Append a batch of images in [0, 1]. In distributed runs every rank receives every rank's batch."""
        x = distributed.all_gather_cat(x.detach())
        q = x.clamp(0, 1).mul(255).round().to(torch.uint8).to(self.storage)
        self.order = None
        self.added += len(q)
        if self.max_size:
            self._add_ring(q[-self.max_size:])
            return
        if self.images is None:
            self.images = self._empty(max(self.capacity, len(q)), q)
        if self.size + len(q) > len(self.images):
            grown = self._empty(max(2 * len(self.images), self.size + len(q)), q)
            grown[:self.size] = self.images[:self.size]
            self.images = grown
        self.images[self.size:self.size + len(q)] = q
        self.size += len(q)

    def _add_ring(self, q):
        if self.images is None:
            self.images = self._empty(self.max_size, q)
        idx = (self.next + torch.arange(len(q), device=self.storage)) % self.max_size
        self.images[idx] = q
        self.next = (self.next + len(q)) % self.max_size
        self.size = min(self.size + len(q), self.max_size)

    def _empty(self, n, like):
        return torch.empty((n,) + like.shape[1:], dtype=torch.uint8, device=self.storage)

    def sample(self, batch_size):
        """The next batch of a shuffled pass over everything stored, as float in [0, 1]: as the reference's
        DataLoader(shuffle=True), a new permutation after each pass and after each add, and a smaller last
        batch when the pass does not divide evenly."""
        return self.images_at(self.next_indices(batch_size))

    def next_indices(self, batch_size):
        """The slots of the next batch of the current pass (`sample` reads them)."""
        if self.size == 0:
            raise RuntimeError("the image pool is empty: synthesize() before sample()")
        if self.order is None or self.cursor >= len(self.order):
            self.order_seed = int(torch.randint(2**62, ()))
            self.order = self._permutation(self.order_seed)
            self.cursor = 0
        idx = self.order[self.cursor:self.cursor + batch_size]
        self.cursor += len(idx)
        return idx

    def images_at(self, idx):
        return self.images[idx].to(self.device, non_blocking=True).to(torch.get_default_dtype()).div_(255)

    def tensor(self):
        return self.images[:self.size] if self.images is not None else torch.empty(0, dtype=torch.uint8)

    def _permutation(self, seed):
        return torch.randperm(self.size, generator=torch.Generator().manual_seed(seed)).to(self.storage)

    def _slots(self, start, stop):
        """Slots of images start..stop-1 of the added sequence (all still held: start >= added - size)."""
        seq = torch.arange(start, stop, device=self.storage)
        return (seq + self.next - self.added) % self.max_size if self.max_size else seq

    def persist(self):
        """Append the images added since the previous call to the attached store (and drop the chunks no
        checkpoint needs any more); call it before `state_dict()` whenever a store is attached."""
        if self.store is None:
            return
        first = max(self.persisted, self.added - self.size)
        if self.persisted == 0:   # a new store: chunks there (a run that never checkpointed, or another run's) go
            self.store.drop_from(0)
        if first < self.added:
            self.store.append(self.images[self._slots(first, self.added)], first)
        # the checkpoint on disk still needs the images from (previous count - size) on; older ones are unused
        self.store.prune_before(self.persisted - self.size if self.max_size else 0)
        self.persisted = self.added

    def state_dict(self):
        """Counts and sampling order; the images themselves too when no store is attached."""
        state = {"next": self.next, "order_seed": None if self.order is None else self.order_seed,
                 "cursor": self.cursor}
        if self.store is None:
            return {**state, "images": self.tensor().cpu().clone()}   # a view would save the spare capacity too
        if self.persisted != self.added:
            raise RuntimeError("ImagePool.state_dict(): persist() the images added since the last call first")
        return {**state, "stored": self.added, "size": self.size}

    def load_state_dict(self, state):
        self.images, self.next = None, state["next"]
        self.order_seed, self.cursor = state["order_seed"], state["cursor"]
        if "stored" in state:
            if self.store is None:
                raise RuntimeError("this pool state lives in a store: attach_store() before load_state_dict()")
            self.added = self.persisted = state["stored"]
            self.size = state["size"]
            images = self.store.read(self.added - self.size, self.added)   # in the order they were added
            slots = self._slots(self.added - self.size, self.added)
        else:   # held in the checkpoint, slot by slot
            images = state["images"]
            self.added = self.size = len(images)
            self.persisted = 0
            slots = torch.arange(self.size, device=self.storage)
        if self.size:
            self.images = self._empty(max(self.size, self.max_size), images)
            self.images[slots] = images.to(self.storage)
        self.order = None if self.order_seed is None else self._permutation(self.order_seed)

