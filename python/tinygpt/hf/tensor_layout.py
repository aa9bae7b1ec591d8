"""How a transformers architecture names and lays out tinygpt's tensors, and the conversion both
ways; each architecture (``hf.gpt2``, ``hf.neox``) is one ``TensorLayout``.

Torch is only named, never imported, so that picking an architecture stays cheap for the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinygpt.errors import DataError
from tinygpt.model.config import GPTConfig

if TYPE_CHECKING:
    import torch

    from tinygpt.model.gpt import GPT


@dataclass(frozen=True)
class Rearrangement:
    """A tensor's change of layout from tinygpt's to the architecture's, and back."""

    to_theirs: Callable[[torch.Tensor, GPTConfig], torch.Tensor]
    to_ours: Callable[[torch.Tensor, GPTConfig], torch.Tensor]


AS_IS = Rearrangement(lambda tensor, _: tensor, lambda tensor, _: tensor)
# GPT-2's Conv1D stores a linear layer as [in, out], nn.Linear as [out, in].
TRANSPOSED = Rearrangement(lambda tensor, _: tensor.t(), lambda tensor, _: tensor.t())


@dataclass(frozen=True)
class TensorLayout:
    """The names of one architecture's tensors against tinygpt's.

    ``prefix`` starts the base model's names (``transformer.``); a block's tensors are
    ``{prefix}{blocks}.{i}.{name}``; ``heads`` are the names an untied output matrix may be saved
    under (the first is written); ``buffers`` are non-parameters some checkpoints carry, in a
    block or at the top, dropped on reading.
    """

    prefix: str
    blocks: str
    block_tensors: tuple[tuple[str, str, Rearrangement], ...]
    top_tensors: dict[str, str]
    heads: tuple[str, ...]
    buffers: frozenset[str]

    def state_dict(
        self, tensors: dict[str, torch.Tensor], config: GPTConfig, *, source: str
    ) -> dict[str, torch.Tensor]:
        """tinygpt names and layouts for ``tensors`` (with or without ``prefix``).

        A tied model's head, when saved, is the embedding again and is dropped. Unknown names are
        kept as they are so that ``load_state_dict_checked`` reports them.
        """
        block_pattern = re.compile(rf"{re.escape(self.blocks)}\.(\d+)\.(.+)")
        in_blocks = {theirs: (ours, change) for theirs, ours, change in self.block_tensors}
        ours: dict[str, torch.Tensor] = {}
        for name, tensor in tensors.items():
            short = name.removeprefix(self.prefix)
            block = block_pattern.fullmatch(short)
            part = block.group(2) if block else short
            if short in self.heads:
                if not config.tie_weights:
                    ours["linear_head.weight"] = tensor
            elif part in self.buffers:
                continue
            elif block and part in in_blocks:
                target, change = in_blocks[part]
                ours[f"blocks.{block.group(1)}.{target}"] = change.to_ours(tensor, config).contiguous()
            elif not block and short in self.top_tensors:
                ours[self.top_tensors[short]] = tensor
            else:
                ours[name] = tensor
        if not config.tie_weights and "linear_head.weight" not in ours:
            raise DataError(f"{source}: tie_word_embeddings is false but {self.heads[0]} is missing")
        if config.tie_weights and "token_embedding.weight" in ours:
            ours["linear_head.weight"] = ours["token_embedding.weight"]
        return {name: tensor.float() for name, tensor in ours.items()}

    def tensors(self, model: GPT) -> dict[str, torch.Tensor]:
        """The model's weights under this architecture's names and layouts; absent biases as zeros."""
        config = model.config
        state = {name: tensor.detach().float().contiguous() for name, tensor in model.state_dict().items()}
        out = {f"{self.prefix}{theirs}": state[ours].clone() for theirs, ours in self.top_tensors.items()}
        for index in range(config.block_count):
            for theirs, ours, change in self.block_tensors:
                tensor = state.get(f"blocks.{index}.{ours}")
                if tensor is None:
                    # A bias-free tinygpt model: both architectures have biases, zero computes the same.
                    weight = state[f"blocks.{index}.{ours.removesuffix('.bias')}.weight"]
                    tensor = weight.new_zeros(weight.shape[0])
                out[f"{self.prefix}{self.blocks}.{index}.{theirs}"] = change.to_theirs(tensor, config).contiguous()
        if not config.tie_weights:
            out[self.heads[0]] = state["linear_head.weight"].clone()
        return out
