"""The loop reports through tinygpt.train.report: a library caller gets plain lines on stderr,
the CLI its live display, and any report passed in sees every logged step and evaluation."""

from __future__ import annotations

from tests.train.support import (  # noqa: F401 (one_torch_thread and shards are fixtures)
    one_torch_thread,
    shards,
    tiny_model_config,
    tiny_train_config,
)
from tinygpt.cli.display import TrainingDisplay
from tinygpt.train import train
from tinygpt.train.report import PlainReport, TrainingReport


class Recording(PlainReport):
    """PlainReport that also keeps what it was told."""

    instances: list[Recording] = []

    def __init__(self, total_steps: int | None, start_step: int, *, enabled: bool) -> None:
        super().__init__(total_steps, start_step, enabled=enabled)
        self.total_steps, self.steps, self.evaluations = total_steps, [], []
        Recording.instances.append(self)

    def update(self, step: int, *, loss: float, lr: float, tokens_per_second: float) -> None:
        self.steps.append(step)

    def evaluation(self, step: int, *, train_loss: float, val_loss: float) -> None:
        self.evaluations.append(step)
        super().evaluation(step, train_loss=train_loss, val_loss=val_loss)


def _train(shards, out, **options):
    config = tiny_train_config(training_iterations=8, evaluation_interval=4, log_interval=2)
    return train(shards, out, tiny_model_config(), config, device="cpu", precision="fp32", **options)


def test_a_passed_report_sees_every_logged_step_and_evaluation(shards, tmp_path, capsys):
    Recording.instances.clear()
    _train(shards, tmp_path / "run", report=Recording)
    (report,) = Recording.instances
    assert report.total_steps == 8 and report.steps == [2, 4, 6, 8] and report.evaluations == [4, 8]
    err = capsys.readouterr().err
    assert "step 4: train loss" in err and "step 8: train loss" in err


def test_the_library_default_is_plain_lines_and_show_progress_false_silences_them(shards, tmp_path, capsys):
    _train(shards, tmp_path / "plain")
    assert "step 4: train loss" in capsys.readouterr().err
    _train(shards, tmp_path / "quiet", show_progress=False)
    assert capsys.readouterr().err == ""


def test_the_live_display_and_the_plain_report_follow_the_protocol():
    reports: list[TrainingReport] = [TrainingDisplay(10, 0, enabled=False), PlainReport(10, 0, enabled=False)]
    for report in reports:
        with report:
            report.update(1, loss=1.0, lr=1e-3, tokens_per_second=10.0)
            report.evaluation(1, train_loss=1.0, val_loss=1.0)
            report.message("silent")
