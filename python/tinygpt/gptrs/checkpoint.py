"""gpt-rs checkpoint tensor names: one q/k/v linear per head there, one fused q/k/v here.

Pure renaming and reshaping of tensor dictionaries, so the model can read and write gpt-rs's
``.safetensors`` files without knowing its names.
"""

from __future__ import annotations

import re

import torch

from tinygpt.errors import DataError

_GPTRS_HEAD = re.compile(r"blocks\.(\d+)\.multi_attention_head\.heads\.(\d+)\.(query|key|value)\.(weight|bias)")
_QKV_ORDER = ("query", "key", "value")


def _gptrs_plain_name(ours: str) -> str:
    """Our name of every tensor that is not a fused q/k/v -> gpt-rs's name."""
    return "transformer." + ours.replace(".attention.projection.", ".multi_attention_head.projection.")


def from_gptrs_names(tensors: dict[str, torch.Tensor], head_count: int, source: str) -> dict[str, torch.Tensor]:
    """Rename gpt-rs tensors to ours and fuse each block's per-head q/k/v into one linear."""
    ours: dict[str, torch.Tensor] = {}
    heads: dict[tuple[int, str], dict[tuple[str, int], torch.Tensor]] = {}
    for name, tensor in tensors.items():
        if not name.startswith("transformer."):
            raise DataError(f"{source}: unexpected tensor {name!r} (gpt-rs names start with 'transformer.')")
        short = name[len("transformer.") :]
        head = _GPTRS_HEAD.fullmatch(short)
        if head:
            block, index, role, kind = head.groups()
            heads.setdefault((int(block), kind), {})[(role, int(index))] = tensor
        else:
            ours[short.replace(".multi_attention_head.projection.", ".attention.projection.")] = tensor
    for (block, kind), parts in heads.items():
        wanted = [(role, h) for role in _QKV_ORDER for h in range(head_count)]
        absent = [f"heads.{h}.{role}" for role, h in wanted if (role, h) not in parts]
        extra = sorted(f"heads.{h}.{role}" for role, h in set(parts) - set(wanted))
        if absent or extra:
            raise DataError(
                f"{source}: block {block} {kind}: expected {head_count} heads of query/key/value"
                + (f"; missing {', '.join(absent)}" if absent else "")
                + (f"; unexpected {', '.join(extra)}" if extra else "")
            )
        ours[f"blocks.{block}.attention.qkv.{kind}"] = torch.cat([parts[key] for key in wanted], dim=0)
    return ours


def to_gptrs_names(state: dict[str, torch.Tensor], head_count: int) -> dict[str, torch.Tensor]:
    """Our tensors (biases included) under gpt-rs's names, each fused q/k/v split per head."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        fused = re.fullmatch(r"blocks\.(\d+)\.attention\.qkv\.(weight|bias)", name)
        if fused is None:
            out[_gptrs_plain_name(name)] = tensor
            continue
        block, kind = fused.groups()
        for role, part in zip(_QKV_ORDER, tensor.chunk(3, dim=0)):
            for head, piece in enumerate(part.chunk(head_count, dim=0)):
                out[f"transformer.blocks.{block}.multi_attention_head.heads.{head}.{role}.{kind}"] = piece.contiguous()
    return out
