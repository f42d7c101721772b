"""Adam (Kingma & Ba 2015) for the interactive paths: the drag step, projection and PTI.

It computes what `torch.optim.Adam` (no weight decay, no AMSGrad, its default single-tensor path on
the CPU) computes, to the bit, with two differences that matter to a user:
- making it imports nothing. The first torch optimiser a process makes imports `torch._dynamo`
  (`Optimizer.add_param_group` is wrapped by `torch._disable_dynamo`), 1.2-1.6 s on this CPU: the
  start of every `python -m latent invert` and of every command-line drag paid it.
- a step updates all the tensors of a group with one `torch._foreach_*` call per operation (the
  same per-tensor kernels, without a Python round per tensor): PTI tunes every weight of the
  synthesis network.

Per parameter p with gradient g at its step t (lr, beta1, beta2, eps of its group):
    m <- lerp(m, g, 1 - beta1);  v <- beta2 v + (1 - beta2) g^2
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
A parameter without a gradient is skipped and its t does not advance, as in torch.
`param_groups` (a list of dicts with 'params' and the settings) is what `torch.amp.GradScaler`
reads to unscale, and what a caller changes to schedule the learning rate.
"""
import torch

DEFAULTS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


class Adam:
    def __init__(self, params, **defaults):
        unknown = set(defaults) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"Adam: unsupported option(s) {sorted(unknown)}")
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [dict(params=params)]
        self.param_groups = [dict(DEFAULTS, **defaults, **dict(g, params=list(g["params"]))) for g in groups]
        self.state = {}   # parameter -> dict(step, exp_avg, exp_avg_sq)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            live = [p for p in g["params"] if p.grad is not None]
            if not live:
                continue
            for p in live:
                if p not in self.state:
                    self.state[p] = dict(step=0, exp_avg=torch.zeros_like(p, memory_format=torch.preserve_format),
                                         exp_avg_sq=torch.zeros_like(p, memory_format=torch.preserve_format))
            states = [self.state[p] for p in live]
            for s in states:
                s["step"] += 1
            steps = {s["step"] for s in states}
            if len(steps) == 1:
                self._update(g, live, states, steps.pop())
            else:   # tensors at different steps (some had no gradient before): one at a time
                for p, s in zip(live, states):
                    self._update(g, [p], [s], s["step"])

    @staticmethod
    def _update(g, params, states, t):
        beta1, beta2 = g["betas"]
        grads = [p.grad for p in params]
        m, v = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
        step_size = g["lr"] / (1 - beta1 ** float(t))
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, (1 - beta2 ** float(t)) ** 0.5)
        torch._foreach_add_(denom, g["eps"])
        torch._foreach_addcdiv_(params, m, denom, value=-step_size)
