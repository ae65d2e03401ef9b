"""The `assetcore` command."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, cast

import click
from google.protobuf.json_format import MessageToJson
from rich.console import Console

from assetcore.config import Settings
from assetcore.errors import ApiError
from assetcore.proto.v1 import job_pb2, orchestrator_pb2
from assetcore.runtime import run_async
from assetcore.steps.catalog import catalog_for
from assetcore.steps.contract import UnknownBackend
from assetcore.telemetry.logs import configure_logging

SERVICES = ("gateway", "orchestrator")  # besides the steps, which the catalog declares
PLATFORMS = {
    "mobile": job_pb2.PLATFORM_MOBILE,
    "pc": job_pb2.PLATFORM_PC,
    "console": job_pb2.PLATFORM_CONSOLE,
}
RIGS = {"humanoid": job_pb2.RIG_TYPE_HUMANOID, "quadruped": job_pb2.RIG_TYPE_QUADRUPED}
ASSET_TYPES = {
    "character": job_pb2.ASSET_TYPE_CHARACTER,
    "prop": job_pb2.ASSET_TYPE_PROP,
    "concept": job_pb2.ASSET_TYPE_CONCEPT,
}
JOB_STATES = {
    name.removeprefix("JOB_STATE_").lower(): cast("job_pb2.JobState", value)
    for name, value in job_pb2.JobState.items()[1:]
}
PRIORITIES = {"low": job_pb2.PRIORITY_LOW, "normal": job_pb2.PRIORITY_NORMAL, "high": job_pb2.PRIORITY_HIGH}


def _settings(data_dir: Path | None, backends: tuple[str, ...] = ()) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = Settings(**overrides)
    steps = catalog_for(settings).steps
    for item in backends:
        step, sep, backend = item.partition("=")
        if not sep or step not in steps:
            raise click.BadParameter(
                f"expected STEP=BACKEND with STEP in {', '.join(steps)}", param_hint="--backend"
            )
        try:
            steps[step].backend(backend)
        except UnknownBackend as exc:
            raise click.BadParameter(str(exc), param_hint="--backend") from None
        settings.backends[step] = backend
    return settings


def _step_option(item: str) -> tuple[str, str, Any]:
    path, sep, raw = item.partition("=")
    step, dot, key = path.partition(".")
    if not sep or not dot or not step or not key:
        raise click.BadParameter(f"expected STEP.KEY=VALUE, got {item!r}", param_hint="--option")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return step, key, value


def _run(main: Coroutine[Any, Any, int]) -> None:
    try:
        code = run_async(main)
    except ApiError as exc:
        click.echo(f"error: {exc.code}: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Local profile data directory [./.assetcore].",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Asset Creator AI Core: prompt in, game-ready 3D asset out."""


@main.command()
@click.argument("prompt")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Where the files and report go.",
)
@click.option(
    "--type",
    "asset_type",
    type=click.Choice(sorted(ASSET_TYPES)),
    help="Asset type [inferred from the prompt].",
)
@click.option("--pipeline", help="Pipeline template (character, prop, concept) [from the asset type].")
@click.option("--style", default="", help="Style words, e.g. 'stylized'.")
@click.option("--details", default="", help="More description appended to the prompt.")
@click.option("--negative", default="", help="Negative prompt.")
@click.option("--seed", type=int, help="Seed (0..2^31-1) [derived from the prompt].")
@click.option("--poly-budget", type=int, help="Faces of LOD0 [the platform's default].")
@click.option("--platform", type=click.Choice(sorted(PLATFORMS)), help="Target platform [pc].")
@click.option("--rig", type=click.Choice(sorted(RIGS)), help="Rig type [inferred from the prompt].")
@click.option("--clip", "clips", multiple=True, help="Animation clip (repeatable) [the rig's default set].")
@click.option("--fps", type=int, help="Animation frames per second [30].")
@click.option("--in-place", is_flag=True, help="Strip root motion from clips.")
@click.option(
    "--bvh", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="BVH motion to retarget."
)
@click.option("--format", "formats", multiple=True, help="Export format: glb, fbx (repeatable) [glb].")
@click.option("--engine", type=click.Choice(["unity", "unreal", "godot"]), help="Engine preset.")
@click.option("--draco", is_flag=True, help="Draco-compress GLB geometry.")
@click.option("--ktx2", is_flag=True, help="Add KTX2 (Basis Universal) copies of GLB textures.")
@click.option("--upscale", is_flag=True, help="Upscale the concept image x2.")
@click.option("--priority", type=click.Choice(sorted(PRIORITIES)), default="normal", show_default=True)
@click.option("--name", default="", help="Asset name in the library [from the prompt].")
@click.option("--tag", "tags", multiple=True, help="Library tag (repeatable).")
@click.option(
    "--backend",
    "backends",
    multiple=True,
    metavar="STEP=BACKEND",
    help="Backend for a step, e.g. retopo=blender.",
)
@click.option(
    "--option",
    "step_options",
    multiple=True,
    metavar="STEP.KEY=VALUE",
    help="A step option (docs/step-options.schema.json), e.g. retopo.face_target=2000; VALUE is JSON "
    "or a plain string.",
)
@data_dir_option
def generate(
    prompt: str, out_dir: Path, data_dir: Path | None, backends: tuple[str, ...], **opts: Any
) -> None:
    """Run one job on the embedded local profile (one process, no servers) and write its files to OUT."""
    from assetcore.generate import run_generate

    configure_logging("generate", "WARNING")
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept=prompt, style=opts["style"], details=opts["details"]),
        negative_prompt=opts["negative"],
        pipeline=opts["pipeline"] or "",
        asset_type=ASSET_TYPES.get(opts["asset_type"], job_pb2.ASSET_TYPE_UNSPECIFIED),
        priority=PRIORITIES[opts["priority"]],
        upscale=opts["upscale"],
        name=opts["name"],
        tags=opts["tags"],
    )
    if opts["seed"] is not None:
        job.seed = opts["seed"]
    if opts["poly_budget"] is not None:
        job.constraints.poly_budget = opts["poly_budget"]
    job.constraints.platform = PLATFORMS.get(opts["platform"], job_pb2.PLATFORM_UNSPECIFIED)
    job.constraints.rig_type = RIGS.get(opts["rig"], job_pb2.RIG_TYPE_UNSPECIFIED)
    job.animation.clips.extend(opts["clips"])
    job.animation.fps = opts["fps"] or 0
    job.animation.in_place = opts["in_place"]
    if opts["bvh"] is not None:
        job.animation.bvh = opts["bvh"].read_bytes()
    job.export.formats.extend(opts["formats"])
    job.export.engine = opts["engine"] or ""
    job.export.draco = opts["draco"]
    job.export.ktx2 = opts["ktx2"]
    for step, key, value in map(_step_option, opts["step_options"]):
        job.step_options[step].update({key: value})
    _run(run_generate(_settings(data_dir, backends), job, out_dir, Console()))


@main.command()
@click.option(
    "--gateway-port", type=int, default=None, help="GraphQL gateway port [ASSETCORE_GATEWAY_PORT or 8000]."
)
@click.option("--orchestrator-port", type=int, default=None, help="Orchestrator gRPC port [50051].")
@data_dir_option
def up(gateway_port: int | None, orchestrator_port: int | None, data_dir: Path | None) -> None:
    """Start the whole mesh as separate local processes; Ctrl-C stops it cleanly."""
    from assetcore.mesh import run_mesh

    configure_logging("up")
    settings = _settings(data_dir)
    _run(run_mesh(settings, gateway_port=gateway_port, orchestrator_port=orchestrator_port))


@main.command()
@click.argument("name")
@data_dir_option
def serve(name: str, data_dir: Path | None) -> None:
    """Run one deployable (gateway, orchestrator or a step) until SIGTERM, then drain."""
    settings = _settings(data_dir)
    known = (*SERVICES, *catalog_for(settings).step_names)
    if name not in known:
        raise click.BadParameter(f"{name!r} is not one of {', '.join(known)}", param_hint="NAME")
    configure_logging(name)
    _run(_serve(name, settings))


@main.command()
@click.option("--steps", default="", help="Comma-separated steps whose queues to consume [every step].")
@data_dir_option
def worker(steps: str, data_dir: Path | None) -> None:
    """A worker node: several steps' queues in one process, interactive steps taken first."""
    settings = _settings(data_dir)
    known = catalog_for(settings).step_names
    names = [s.strip() for s in steps.split(",") if s.strip()] or list(known)
    if any(n not in known for n in names):
        raise click.BadParameter(f"steps must be among {', '.join(known)}", param_hint="--steps")
    configure_logging("worker")

    async def consume() -> int:
        from assetcore.telemetry.setup import configure_telemetry
        from assetcore.worker.service import running_workers

        configure_telemetry("worker", settings)

        async with running_workers(settings, names, settings.orchestrator_address) as workers:
            return await _until_terminated(workers.task)

    _run(consume())


async def _until_terminated(work: asyncio.Task[None] | None = None) -> int:
    """Until SIGTERM/SIGINT (0), or until `work` stops by itself: 1, its error printed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait(
            {stopped} if work is None else {stopped, work}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopped.cancel()
    if work is not None and work.done() and not work.cancelled():
        failure = work.exception()
        click.echo(f"startup failed: {failure}" if failure else "the workers stopped", err=True)
        return 1
    return 0


async def _serve(name: str, settings: Settings) -> int:
    from assetcore.embedded import deployable
    from assetcore.telemetry.setup import configure_telemetry

    configure_telemetry(name, settings)  # before any server or channel exists

    if name in SERVICES:
        async with deployable(name)(settings):
            return await _until_terminated()
    from assetcore.worker.service import running_workers, step_listen_address

    # Health stays NOT_SERVING until the backend loaded; a backend that cannot load (a missing
    # or corrupt model file, no Blender) ends the process with the reason.
    listen = step_listen_address(settings)
    async with running_workers(
        settings, [name], settings.orchestrator_address, grpc_address=listen
    ) as workers:
        return await _until_terminated(workers.task)


def _api_key(settings: Settings, key: str | None) -> str:
    if key:
        return key
    path = settings.data_dir / ".local_api_key"
    if not path.exists():
        raise click.UsageError(
            "no API key: pass --api-key or set ASSETCORE_API_KEY (or run generate/up once)"
        )
    return path.read_text().strip()


api_key_option = click.option("--api-key", envvar="ASSETCORE_API_KEY", help="API key [the local tenant's].")


@main.command()
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(sorted(JOB_STATES)),
)
@click.option("--limit", type=int, default=20, show_default=True)
@api_key_option
@data_dir_option
def jobs(states: tuple[str, ...], limit: int, api_key: str | None, data_dir: Path | None) -> None:
    """List recent jobs of a running orchestrator (ASSETCORE_ORCHESTRATOR_ADDRESS)."""
    from assetcore.rpc.client import OrchestratorApi

    settings = _settings(data_dir)

    async def list_jobs() -> int:
        api = OrchestratorApi(settings.orchestrator_address)
        try:
            request = orchestrator_pb2.ListJobsRequest(page_size=limit)
            request.states.extend(JOB_STATES[s] for s in states)
            found = await api.list_jobs(_api_key(settings, api_key), request)
        finally:
            await api.close()
        for job in found.jobs:
            state = job_pb2.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()
            prompt = job.input.prompt.concept[:60]
            click.echo(f"{job.id}  {state:<16} {job.pipeline:<10} ${job.cost_usd:.5f}  {prompt}")
        return 0

    _run(list_jobs())


@main.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
@api_key_option
@data_dir_option
def watch(job_id: str, as_json: bool, api_key: str | None, data_dir: Path | None) -> None:
    """Follow a job's events until it finishes."""
    from assetcore.rpc.client import OrchestratorApi

    settings = _settings(data_dir)

    async def follow() -> int:
        api = OrchestratorApi(settings.orchestrator_address)
        try:
            async for event in api.watch_job(_api_key(settings, api_key), job_id):
                if as_json:
                    click.echo(MessageToJson(event, indent=None))
                else:
                    kind = event.WhichOneof("kind")
                    click.echo(f"#{event.sequence:<4} {event.step_name or 'job':<8} {kind}")
        finally:
            await api.close()
        return 0

    _run(follow())


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--tenant", required=True)
@click.option("--project", default="default", show_default=True)
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), default="editor", show_default=True)
@data_dir_option
def keys_create(tenant: str, project: str, role: str, data_dir: Path | None) -> None:
    """Create an API key (printed once; only its hash is stored)."""
    from assetcore.db.database import close_database, open_database
    from assetcore.db.keys import create_api_key
    from assetcore.db.migrate import upgrade

    settings = _settings(data_dir)

    async def create() -> int:
        await upgrade(settings.resolved_database_url())
        db = open_database(settings.resolved_database_url())
        try:
            key_id, key = await create_api_key(db, tenant, project, role, pepper=settings.key_pepper())
        finally:
            await close_database(db)
        click.echo(f"{key_id} {key}")
        return 0

    _run(create())


@main.group()
def models() -> None:
    """The model store of the ML backends (ASSETCORE_MODEL_DIR; docs/models.md)."""


def _model_store(model_dir: Path | None) -> Any:
    from assetcore.models.store import ModelStore

    root = model_dir or Settings().model_dir
    if root is None:
        raise click.UsageError("no model store: pass --model-dir or set ASSETCORE_MODEL_DIR")
    return ModelStore(root)


model_dir_option = click.option(
    "--model-dir", type=click.Path(path_type=Path), help="The model store [ASSETCORE_MODEL_DIR]."
)


@models.command("list")
@model_dir_option
def models_list(model_dir: Path | None) -> None:
    """The stored models: name, version, licence, size, fingerprint (manifests only; no hashing)."""
    from assetcore.models.store import ModelError

    store = _model_store(model_dir)
    names = store.names()
    if not names:
        click.echo(f"no models in {store.root}")
    for name in names:
        try:
            m = store.manifest(name)
        except ModelError as exc:
            click.echo(f"{name:20} INVALID {exc}")
            continue
        size = f"{m.total_bytes() / 1e6:.1f} MB"
        click.echo(f"{name:20} {m.version:14} {size:>10}  {m.fingerprint()}  {m.licence}  ({m.source})")


@models.command("verify")
@click.argument("names", nargs=-1)
@model_dir_option
def models_verify(names: tuple[str, ...], model_dir: Path | None) -> None:
    """Hash every file of the models (all by default) against their manifests; exit 1 on a mismatch."""
    from assetcore.models.store import ModelError

    store = _model_store(model_dir)
    failed = 0
    for name in names or store.names():
        try:
            stored = store.verified(name)
        except ModelError as exc:
            click.echo(f"FAILED {exc}", err=True)
            failed += 1
            continue
        click.echo(f"ok     {name} ({len(stored.manifest.files)} files, {stored.fingerprint})")
    sys.exit(1 if failed else 0)


@models.command("manifest")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", help="The store name [the folder's name].")
@click.option("--version", "version", required=True, help="The publisher's revision, e.g. 1.0 or a commit.")
@click.option("--licence", required=True, help="The weights' licence, e.g. MIT or openrail++.")
@click.option("--source", required=True, help="Where the weights come from (a URL).")
def models_manifest(folder: Path, name: str | None, version: str, licence: str, source: str) -> None:
    """Write FOLDER/manifest.json: every file's sha256 and size (installing a model: docs/models.md)."""
    from assetcore.models.manifest import describe_folder, write_manifest

    manifest = describe_folder(
        folder, name=name or folder.name, version=version, licence=licence, source=source
    )
    write_manifest(folder, manifest)
    size = manifest.total_bytes() / 1e6
    click.echo(
        f"{manifest.name}: {len(manifest.files)} files, {size:.1f} MB, fingerprint {manifest.fingerprint()}"
    )


@models.command("pull")
@click.argument("names", nargs=-1)
@click.option("--from", "uri", help="s3://bucket/prefix in the store's layout [ASSETCORE_MODEL_S3_URI].")
@model_dir_option
def models_pull(names: tuple[str, ...], uri: str | None, model_dir: Path | None) -> None:
    """Download the models (all by default) from S3: only files whose hash differs; manifests last."""
    import boto3

    from assetcore.aws_client import client_config
    from assetcore.models.pull import pull_models
    from assetcore.models.store import ModelError

    settings = Settings()
    store = _model_store(model_dir)
    uri = uri or settings.model_s3_uri
    if not uri:
        raise click.UsageError("no source: pass --from s3://bucket/prefix or set ASSETCORE_MODEL_S3_URI")
    s3 = boto3.client(
        "s3",
        region_name=settings.aws.region,
        endpoint_url=settings.aws.endpoint_url,
        config=client_config(),
    )
    try:
        report = pull_models(store, uri, s3, names or None, log=click.echo)
    except (ModelError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{len(report.models)} models in {store.root}: "
        f"{len(report.downloaded)} files downloaded, {len(report.kept)} already current"
    )


@main.group()
def db() -> None:
    """The job store."""


@db.command("upgrade")
@data_dir_option
def db_upgrade(data_dir: Path | None) -> None:
    """Migrate the job store (and a SQL queue database) to the newest schema."""
    from assetcore.db.migrate import upgrade_all

    settings = _settings(data_dir)

    async def run() -> int:
        await upgrade_all(settings)
        return 0

    _run(run())


if __name__ == "__main__":
    main()
