"""What a tokenize job produced, and the report `tinygpt tokenize` prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinygpt.data.manifest import Manifest
from tinygpt.tokenizer.unknown import UnknownText


@dataclass
class TokenizeSummary:
    """What a tokenize job produced (totals over the whole directory) and what this run did."""

    out_dir: Path
    manifest: Manifest
    seconds: float
    documents_processed: int = 0
    text_bytes_processed: int = 0
    shards_written: int = 0
    shards_kept: int = 0
    unknown: UnknownText | None = None  # this run's, for a closed alphabet

    @property
    def documents(self) -> int:
        return sum(info.documents for info in self.manifest.splits.values())

    @property
    def tokens(self) -> int:
        return sum(info.tokens for info in self.manifest.splits.values())

    @property
    def text_bytes(self) -> int:
        return sum(info.text_bytes for info in self.manifest.splits.values())

    @property
    def empty_documents(self) -> int:
        return sum(info.empty_documents for info in self.manifest.splits.values())

    @property
    def bytes_per_token(self) -> float:
        """UTF-8 bytes per text token (end-of-text markers excluded): the compression ratio."""
        return self.text_bytes / max(1, self.tokens - self.documents)

    @property
    def megabytes_per_second(self) -> float:
        return self.text_bytes_processed / 1e6 / max(self.seconds, 1e-9)

    def report(self) -> str:
        """Human-readable summary, as `tinygpt tokenize` prints it."""
        lines = [
            f"{self.out_dir}: {self.documents:,} documents, {self.tokens:,} tokens, "
            f"{self.text_bytes / 1e6:,.2f} MB of text, {self.bytes_per_token:.2f} bytes per token",
        ]
        for name, info in self.manifest.splits.items():
            lines.append(
                f"  {name:<5} {info.documents:>12,} documents {info.tokens:>14,} tokens {len(info.shards):>5,} shard(s)"
            )
        if self.empty_documents:
            lines.append(f"  skipped {self.empty_documents:,} empty document(s)")
        if self.unknown is not None and self.unknown.characters:
            lines.append(f"  {self.unknown.describe()}; the text bytes recorded are those encoded")
        lines.append(
            f"this run: {self.documents_processed:,} documents, "
            f"{self.text_bytes_processed / 1e6:,.2f} MB in {self.seconds:.1f} s "
            f"({self.megabytes_per_second:,.2f} MB/s); {self.shards_written} shard(s) written"
            + (f", {self.shards_kept} kept from an earlier run" if self.shards_kept else "")
        )
        return "\n".join(lines)
