"""Data-free knowledge distillation: image synthesizers that need only a trained teacher."""
