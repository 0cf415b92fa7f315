"""Per-photo inversion against closed forms: the MAP code of a linear decoder is a ridge regression, and
pivotal tuning draws the photo better while the run's own model stays as it was."""

from __future__ import annotations

import torch
from torch import nn

from facegen.analysis.editing.inversion import invert_codes, tuned_models


class LinearDecoder(nn.Module):
    """decode(z, y) = W z + b (images of 1 x 2 x 3 pixels); the condition is ignored."""

    def __init__(self, latent: int = 4, pixels: int = 6):
        super().__init__()
        self.lin = nn.Linear(latent, pixels)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.lin(z).view(-1, 1, 2, 3)


def test_code_inversion_reaches_the_ridge_solution_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = LinearDecoder()
    x = torch.rand(5, 1, 2, 3)
    y = torch.zeros(5, 1)
    before = [p.clone() for p in model.parameters()]
    lam = 0.5
    z = invert_codes(model, x, y, torch.zeros(5, 4), steps=3000, lr=0.02, prior_weight=lam)
    w, b = model.lin.weight.detach().double(), model.lin.bias.detach().double()
    # minimise ||W z + b - x||^2 + lam ||z||^2:  (W'W + lam I) z = W'(x - b)
    expected = torch.linalg.solve(w.T @ w + lam * torch.eye(4, dtype=torch.float64),
                                  w.T @ (x.flatten(1).double() - b).T).T
    assert torch.allclose(z.double(), expected, atol=1e-3)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))
    assert all(p.requires_grad for p in model.parameters())
    assert torch.equal(invert_codes(model, x, y, expected.float(), steps=0), expected.float())


def test_pivotal_tuning_draws_each_photo_better_with_its_own_copy():
    torch.manual_seed(1)
    model = LinearDecoder()
    x, y, z = torch.rand(3, 1, 2, 3), torch.zeros(3, 1), torch.randn(3, 4)
    before = [p.clone() for p in model.parameters()]
    copies = list(tuned_models(model, x, y, z, steps=200, lr=1e-2))
    assert len(copies) == 3 and len({id(c) for c in copies}) == 3
    for i, tuned in enumerate(copies):
        with torch.no_grad():
            old = (model.decode(z[i:i + 1], y[i:i + 1]) - x[i:i + 1]).square().sum()
            new = (tuned.decode(z[i:i + 1], y[i:i + 1]) - x[i:i + 1]).square().sum()
        assert new < 0.01 * old
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))
