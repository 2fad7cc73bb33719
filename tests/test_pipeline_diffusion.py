"""The diffusion backend, run for real on a tiny randomly initialised text-to-video model
with the same architecture as the production one (UNet3D + VAE + CLIP text encoder), saved
to a models directory and loaded back from local files only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generation.pipeline.diffusion import DiffusionRenderer, renderer_from_config, shot_prompt
from generation.pipeline.scene import build_scene
from generation.pipeline.storyboard import Action, Prop, Shot, Storyboard, Subject
from tests.test_pipeline_cast import cutout_png

pytestmark = pytest.mark.slow


def build_tiny_model(directory: Path) -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        TextToVideoSDPipeline,
        UNet3DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-":
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        vocab_file=str(directory / "vocab.json"),
        merges_file=str(directory / "merges.txt"),
        model_max_length=32,
    )
    torch.manual_seed(0)
    pipe = TextToVideoSDPipeline(
        unet=UNet3DConditionModel(
            block_out_channels=(32, 64),
            layers_per_block=1,
            sample_size=16,
            down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
            up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
            cross_attention_dim=32,
            attention_head_dim=4,
            norm_num_groups=32,
        ),
        vae=AutoencoderKL(
            block_out_channels=[32, 64],
            in_channels=3,
            out_channels=3,
            latent_channels=4,
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2,
            sample_size=32,
            norm_num_groups=32,
        ),
        text_encoder=CLIPTextModel(
            CLIPTextConfig(
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
                hidden_size=32,
                intermediate_size=37,
                num_attention_heads=4,
                num_hidden_layers=2,
                vocab_size=len(vocab),
                projection_dim=32,
                max_position_embeddings=32,
            )
        ),
        tokenizer=tokenizer,
        scheduler=DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            clip_sample=False,
            beta_schedule="scaled_linear",
            set_alpha_to_one=False,
        ),
    )
    target = directory / "text-to-video" / "tiny-t2v"
    pipe.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    build_tiny_model(root)
    return root


def board() -> Storyboard:
    return Storyboard(
        shots=[
            Shot(
                framing="wide",
                duration_s=1.0,
                subjects=["maya"],
                actions=[Action("maya", "jump", 0.1)],
            ),
            Shot(framing="close_up", duration_s=1.0, subjects=["maya"]),
        ],
        subjects=[Subject("maya")],
        props=[Prop("vase", 1.0)],
        setting="beach",
        aspect="1:1",
        fps=12,
    )


def renderer(models_dir: Path) -> DiffusionRenderer:
    return DiffusionRenderer(
        models_dir / "text-to-video" / "tiny-t2v", steps=2, native=(32, 32), clip_frames=4
    )


def test_each_shot_is_described_from_the_scene_graph() -> None:
    scene = build_scene(board(), size=(64, 64))
    assert shot_prompt(scene, 0) == (
        "a wide shot of a person jumping, in a beach, with a vase, day light, natural style, "
        "upbeat mood"
    )
    assert shot_prompt(scene, 1).startswith("a close-up of a person standing")


def test_the_model_loads_from_local_files_and_fills_every_frame(models_dir: Path) -> None:
    scene = build_scene(board(), size=(64, 64))
    batches: list[int] = []
    frames = list(renderer(models_dir).render(scene, on_batch=lambda d, t: batches.append(d)))
    assert len(frames) == scene.frame_count == 24
    assert frames[0].shape == (64, 64, 3) and frames[0].dtype == np.uint8
    assert batches == [12, 24]  # one report per shot
    again = list(renderer(models_dir).render(scene))
    assert all((a == b).all() for a, b in zip(frames, again, strict=True))  # seeded
    assert not (frames[0] == frames[12]).all()  # another shot, another prompt and seed


def test_a_cast_cameo_is_composited_over_the_sampled_frames(models_dir: Path) -> None:
    from generation.pipeline.cast import cutout_texture

    story = board()
    story.subjects[0].cameo_id = "c1"
    scene = build_scene(story, size=(64, 64))
    frames = list(renderer(models_dir).render(scene, casts={"c1": cutout_texture(cutout_png())}))
    magenta = (np.abs(frames[0].astype(int) - (255, 0, 255)).sum(axis=2) < 60).sum()
    assert magenta > 20


def test_without_a_model_the_procedural_renderer_runs_and_says_why(tmp_path: Path) -> None:
    chosen, reason = renderer_from_config("diffusion", tmp_path, "missing-model")
    assert chosen.name == "torch-procedural-v1"
    assert "diffusion unavailable" in reason


def test_the_whole_pipeline_runs_on_the_diffusion_backend(models_dir: Path, tmp_path: Path) -> None:
    from generation.pipeline.pipeline import GenerationRequest, run
    from generation.pipeline.probe import probe
    from generation.pipeline.provenance import SigningKeys

    result = run(
        GenerationRequest(storyboard=board(), job_id="t2v", size=(64, 64)),
        workdir=tmp_path,
        on_progress=lambda s, f: None,
        authorize=dict,
        keys=SigningKeys.generate("test"),
        renderer=renderer(models_dir),
    )
    assert result.backends["render"].startswith("diffusers:tiny-t2v")
    media = probe(result.video)
    assert (media.width, media.height, media.has_audio) == (64, 64, True)
