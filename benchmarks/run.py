"""End-to-end benchmark: Suara's sync against dlt over the same sandbox and destinations.

For each N and dialect it starts ``suara sandbox`` in its own process (N rights-baseline
submissions, cloned from 2,000 synthetic templates, served at KPI's 1,000-row page cap over
loopback HTTP), then in a fresh worker process runs

* Suara, twice: with ``SUARA_PULL_PROCESS=off`` (one process) and ``auto`` (the default: a
  second process pulls and validates the pages of pulls of 10,000+ while the first loads,
  flows/puller.py). Each is the sync of one form through the plain pipeline functions (the Prefect flow's own
  steps without Prefect: pull → decrypt → normalise → validate → anonymise → load → release, then the
  reporting refresh), timing each stage; then a no-change sync with the manifest scan, counting
  its HTTP requests and its seconds;
* dlt: a ``rest_api`` source on the same ``/api/v2/assets/<uid>/data/`` endpoint (token header,
  ``next`` links, limit 1,000, ``results``) loading into the same kind of destination (dlt's
  ``sqlalchemy`` destination for SQLite, its ``postgres`` destination for PostgreSQL). dlt only
  copies: no validation, no anonymisation, no quarantine.

Each worker reports its peak RSS with that of any process it starts (Suara's pull process,
flows/puller.py) added (``TreeRss``); the sandbox's memory and CPU are not counted, as with a
real server. PostgreSQL runs in throw-away databases on 127.0.0.1:5432.

    ./dev bench                                   # N = 10k, 100k on SQLite and PostgreSQL
    ./dev bench --sizes 1000000 --dialects sqlite
    ./dev bench --prefect                         # also the Prefect flow at the smallest N
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FORM_ID = "ilo_rights_baseline"
PAGE = 1000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STAGES = ("pull", "decrypt", "normalise", "validate", "anonymise", "load", "release", "refresh", "other")
# Benchmark-only keys: the synthetic data is not personal, but the pipeline refuses to run without.
KEYS = {"SUARA_PSEUDONYM_KEY": "bench-pseudonym-key-0123456789abcdef",
        "SUARA_RESTRICTED_KEY": "bench-restricted-key-0123456789abcdef"}


# -- the parent: sandbox, databases, workers, table ------------------------------------------

@contextmanager
def sandbox(n: int, seed: int = 1):
    """``suara sandbox`` in its own process; yields (url, token, asset uid)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KOBO_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "suara", "sandbox", "--port", "0", "--submissions", str(n),
         "--seed", str(seed), "--form", FORM_ID],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url, token = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        line = proc.stderr.readline()
        if not url.startswith("http") or "\t" not in line:
            raise SystemExit(f"sandbox did not start: {url!r} {line!r}")
        uid = line.split("\t")[1]
        warm(url, token, uid)
        yield url, token, uid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def warm(url: str, token: str, uid: str) -> None:
    """List every submission's ``_id`` and ``_uuid`` once (the manifest scan) before any
    worker runs: the sandbox derives a row's uuid when it first serves the row (~8 ms a page)
    and keeps it, so without this the first worker measured would pay for it and the others
    would not."""
    from suara.kobo import KoboClient
    from suara.settings import load_settings

    for _ in KoboClient(load_settings(kobo_url=url, kobo_token=token)).manifest(uid):
        pass


@contextmanager
def database(dialect: str, tmp: Path, name: str):
    """A fresh destination: (SQLAlchemy URL for Suara, URL dlt understands)."""
    if dialect == "sqlite":
        path = tmp / f"{name}.db"
        yield f"sqlite:///{path}", f"sqlite:///{path}"
        return
    import psycopg

    db = f"suara_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield (f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
               # dlt insists on a password; the local server trusts 127.0.0.1, so any will do.
               f"postgresql://postgres:trust@127.0.0.1:5432/{db}")
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def compile_bytecode(root: Path = REPO) -> None:
    """Write the project's bytecode before any worker runs, as ``pip install`` does for an
    installed package (dlt's, in site-packages). An editable install under
    ``PYTHONDONTWRITEBYTECODE`` (set on the development VM) never caches it, so every worker
    and every pull process would compile Suara's source as it imports it (~60 ms of a 10,000
    submission sync, py-spy) while dlt's came compiled."""
    for package in ("suara", "flows", "validation", "warehouse"):
        compileall.compile_dir(root / package, quiet=1)


def run_worker(kind: str, checkout: Path = REPO, **kw) -> dict:
    """Run one measurement in a fresh interpreter, with the code of ``checkout`` (another
    checkout's benchmarks/run.py and packages: benchmarks/ab.py); it prints one JSON line last."""
    cmd = [sys.executable, str(checkout / "benchmarks" / "run.py"), "--worker", kind, "--args", json.dumps(kw)]
    env = {**os.environ, **KEYS, "PREFECT_LOGGING_LEVEL": "WARNING"}
    out = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{kind} worker failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(n: int, dialect: str, *, prefect: bool, repeat: int = 1) -> dict:
    """Each worker ``repeat`` times over one sandbox, in rounds (one process, pull process,
    dlt; then again), each run on a fresh database; the figures are the median run's."""
    runs: dict[str, list[dict]] = {"suara": [], "suara_pull": [], "dlt": []}
    with tempfile.TemporaryDirectory(prefix="suara-bench-") as tmp, sandbox(n) as (url, token, uid):
        tmp = Path(tmp)
        common = dict(url=url, token=token, uid=uid, n=n, tmp=str(tmp))
        for r in range(repeat):
            with database(dialect, tmp, f"suara{r}") as (wh_url, _):
                runs["suara"].append(run_worker("suara", warehouse=wh_url, pull_process="off", **common))
            with database(dialect, tmp, f"suara_pull{r}") as (wh_url, _):
                runs["suara_pull"].append(run_worker("suara", warehouse=wh_url, pull_process="auto", **common))
            with database(dialect, tmp, f"dlt{r}") as (_, dlt_url):
                runs["dlt"].append(run_worker("dlt", dialect=dialect, destination=dlt_url, **common))
        flow = None
        if prefect:
            with database(dialect, tmp, "flow") as (wh_url, _):
                flow = run_worker("prefect", warehouse=wh_url, **common)
    return {"n": n, "dialect": dialect, **{k: median_run(v) for k, v in runs.items()}, "prefect": flow}


def median_run(runs: list[dict]) -> dict:
    """The run with the median rate (the slower middle one of an even number), with every
    run's rate in ``rates`` and the highest peak RSS of them all: a limit on memory holds for
    every run, not for a typical one."""
    ordered = sorted(runs, key=lambda r: r["rate"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    out["rates"] = [r["rate"] for r in runs]
    for key in ("rss_mb", "rss_before_reporting_mb"):
        if key in out:
            out[key] = max(r[key] for r in runs)
    return out


def repeats(n: int, asked: int | None) -> int:
    """Runs per configuration: ``--repeat`` if given; else 3 up to 10,000 submissions (a sync of
    1-2 s, where the VM's ±15 % swings between runs decide a single one) and 1 above."""
    return asked if asked is not None else (3 if n <= 10_000 else 1)


CONFIGS = (("suara", "one process"), ("suara_pull", "pull process (default)"))


def table(results: list[dict]) -> str:
    head = ("| N | dialect | Suara | subs/s | " + " | ".join(STAGES) + " | peak RSS MB (before reporting) | "
            "dlt subs/s | dlt peak RSS MB | Suara ÷ dlt | no-change sync requests | no-change sync s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        d = r["dlt"]
        for key, config in CONFIGS:
            s = r[key]
            total = sum(s["stages"].values()) or 1
            shares = " | ".join(f"{100 * s['stages'].get(k, 0) / total:.0f} %" for k in STAGES)
            lines.append(
                f"| {r['n']:,} | {r['dialect']} | {config} | {s['rate']:,.0f} | {shares} | {s['rss_mb']:.0f} "
                f"({s['rss_before_reporting_mb']:.0f}) | "
                f"{d['rate']:,.0f} | {d['rss_mb']:.0f} | {s['rate'] / d['rate']:.1f}× | "
                f"{s['nochange_requests']} | {s.get('nochange_seconds', float('nan')):.1f} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def speed() -> str:
    """How fast this machine runs plain Python right now (the VM's speed drifts through the day
    by up to 2×): the median of 3 timings of one fixed loop, to compare runs by."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(10**7))
        times.append(time.perf_counter() - start)
    return f"speed check: 10M squares summed in {sorted(times)[1]:.2f} s"


_LOOP = "import sys, time; t = time.perf_counter(); sum(i * i for i in range(int(sys.argv[1]))); print(time.perf_counter() - t)"


def core_times(n: int = 10**7) -> tuple[float, float]:
    """(seconds of the speed check's loop over ``n`` alone, the best of two; the slower of two
    such loops run at once in two processes)."""
    def loops(k: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", _LOOP, str(n)], stdout=subprocess.PIPE, text=True)
                 for _ in range(k)]
        return [float(p.communicate()[0]) for p in procs]

    return min(loops(1)[0] for _ in range(2)), max(loops(2))


def cores() -> str:
    """What the second core adds right now: the speed check's loop in two processes at once
    against one alone. On this VM two CPU-bound processes have slowed each other by 0-75 %
    (hyperthreads or a busy host), which caps what the pull process can gain."""
    alone, pair = core_times()
    return f"two at once: {pair:.2f} s each against {alone:.2f} s alone ({2 * alone / pair:.1f}× the work of one core)"


# -- the workers ---------------------------------------------------------------------------------

def _env(a: dict, warehouse: str) -> None:
    os.environ.update(SUARA_PULL_PROCESS=a.get("pull_process", "off"))
    os.environ.update(KOBO_URL=a["url"], KOBO_TOKEN=a["token"], WAREHOUSE_URL=warehouse,
                      SUARA_DATA_DIR=str(Path(a["tmp"]) / uuid.uuid4().hex[:8]),
                      SUARA_PAGE_SIZE=str(PAGE))


def _prepare(warehouse_url: str):
    from suara.forms import load_form_versions, load_forms
    from suara.settings import load_settings
    from warehouse import Warehouse

    settings = load_settings()
    form = next(f for f in load_forms(settings.forms_dir()) if f.form_id == FORM_ID)
    wh = Warehouse.from_settings(settings)
    wh.upgrade({FORM_ID: load_form_versions(FORM_ID, settings.forms_dir())})
    return settings, form, wh


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


class TreeRss:
    """Peak RSS of this process and every process it started (the pull process, flows/puller.py),
    added up, sampled every 20 ms (new children looked for every 0.5 s): a second process's
    memory counts as the sync's."""

    def __init__(self):
        import threading

        import psutil

        self.me, self.peak, self.stop = psutil.Process(), 0.0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        import psutil

        mine = self.me.cmdline()
        kids: dict[int, psutil.Process] = {}
        rescan = 0
        while not self.stop.wait(0.02):
            # Finding the children reads every process's /proc entry (~1 ms of Python holding
            # the GIL the measured sync needs: ~5 % of its process at every 20 ms); the
            # processes a sync starts live for seconds, so looking for new ones every 0.5 s
            # misses none, while their RSS is still read every 20 ms.
            rescan -= 1
            if rescan <= 0:
                rescan = 25
                found = {}
                for p in self.me.children(recursive=True):
                    with suppress(psutil.Error):
                        # A child between fork and exec still shows this process's command line
                        # and shares every page with it: counting it would count this process twice.
                        if p.cmdline() != mine:
                            found[p.pid] = kids.get(p.pid, p)
                kids = found
            total = self.me.memory_info().rss
            for pid, p in list(kids.items()):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    del kids[pid]
            self.peak = max(self.peak, total / 2**20)

    def mb(self) -> float:
        """The peak so far: the sampled sum, or this process's own peak if higher (a peak
        shorter than a sampling interval)."""
        return max(self.peak, _rss_mb())


def worker_suara(a: dict) -> dict:
    """The sync through flows.sync_form.run_form with the Prefect tasks' plain functions."""
    _env(a, a["warehouse"])
    from flows import pipeline, sync_form
    from suara.kobo import KoboClient

    settings, form, wh = _prepare(a["warehouse"])
    for name in ("load_page", "reconcile_form_task", "reread_late", "release_form"):  # no Prefect here
        setattr(sync_form, name, getattr(sync_form, name).fn)
    client = KoboClient(settings)
    refresh, rss_before_reporting = wh.refresh_reporting, []
    tree = TreeRss()

    def noted_refresh(*args, **kw):  # peak RSS of the pull/load alone, before the reporting refresh
        rss_before_reporting.append(tree.mb())
        return refresh(*args, **kw)

    wh.refresh_reporting = noted_refresh
    pipeline.STAGE_SECONDS.clear()
    start = time.perf_counter()
    outcome = sync_form.run_form(settings, form, client, wh, pipeline.new_run_id(), reconcile=False)
    seconds = time.perf_counter() - start
    if outcome.status != "completed" or outcome.counts.pulled != a["n"]:
        raise SystemExit(f"sync did not complete: {outcome.status} {outcome.error} {outcome.counts}")
    stages = dict(pipeline.STAGE_SECONDS)  # "pull": the time the stages waited for a page
    stages["other"] = max(0.0, seconds - sum(stages.values()))
    rss = tree.mb()
    before = client.requests_made
    start = time.perf_counter()
    again = sync_form.run_form(settings, form, client, wh, pipeline.new_run_id(), reconcile=True)
    nochange_seconds = time.perf_counter() - start
    if again.counts.pulled or again.status != "completed":
        raise SystemExit(f"no-change sync changed something: {again.counts}")
    return {"rate": a["n"] / seconds, "seconds": seconds, "stages": stages, "rss_mb": rss,
            "rss_before_reporting_mb": rss_before_reporting[0],
            "counts": outcome.counts.record(), "nochange_requests": client.requests_made - before,
            "nochange_seconds": nochange_seconds}


def worker_prefect(a: dict) -> dict:
    """The same sync as a Prefect flow run (ephemeral test server; its startup is not timed)."""
    _env(a, a["warehouse"])
    from prefect.testing.utilities import prefect_test_harness

    _prepare(a["warehouse"])
    from flows.sync_form import sync_all_forms

    with prefect_test_harness(server_startup_timeout=120):
        start = time.perf_counter()
        record = sync_all_forms([FORM_ID], reconcile=False)
        seconds = time.perf_counter() - start
    return {"rate": a["n"] / seconds, "seconds": seconds, "counts": record["forms"][FORM_ID]}


def worker_dlt(a: dict) -> dict:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    os.environ["DLT_DATA_DIR"] = str(Path(a["tmp"]) / "dlt-data")
    source = rest_api_source({
        "client": {
            "base_url": a["url"] + "/api/v2/",
            "auth": {"type": "api_key", "name": "Authorization", "api_key": f"Token {a['token']}",
                     "location": "header"},
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resources": [{
            "name": FORM_ID,
            "endpoint": {"path": f"assets/{a['uid']}/data/", "params": {"limit": PAGE, "format": "json"},
                         "data_selector": "results"},
        }],
    })
    if a["dialect"] == "sqlite":
        os.environ["LOAD__WORKERS"] = "1"  # dlt's advice for SQLite: parallel loaders lock it
        dest = dlt.destinations.sqlalchemy(credentials=a["destination"])
    else:
        dest = dlt.destinations.postgres(credentials=a["destination"])
    tree = TreeRss()
    pipe = dlt.pipeline(pipeline_name=f"kobo_{uuid.uuid4().hex[:8]}", destination=dest, dataset_name="kobo",
                        pipelines_dir=str(Path(a["tmp"]) / "dlt-pipelines"))
    start = time.perf_counter()
    pipe.run(source)
    seconds = time.perf_counter() - start
    with pipe.sql_client() as sql:
        loaded = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(FORM_ID)}")[0][0]
    if loaded != a["n"]:
        raise SystemExit(f"dlt loaded {loaded} of {a['n']} submissions")
    return {"rate": a["n"] / seconds, "seconds": seconds, "rss_mb": tree.mb()}


WORKERS = {"suara": worker_suara, "dlt": worker_dlt, "prefect": worker_prefect}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated N (default 10000,100000)")
    ap.add_argument("--dialects", default="sqlite,postgresql", help="sqlite, postgresql or both")
    ap.add_argument("--prefect", action="store_true", help="also time the Prefect flow at the smallest N")
    ap.add_argument("--repeat", type=int, metavar="R",
                    help="runs per configuration, figures from the median run (default: 3 up to N = 10,000, else 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.worker:
        print(json.dumps(WORKERS[opts.worker](json.loads(opts.args))))
        return 0
    sizes = [int(s) for s in opts.sizes.split(",") if s]
    dialects = [d.strip() for d in opts.dialects.split(",") if d.strip()]
    if unknown := set(dialects) - {"sqlite", "postgresql"}:
        ap.error(f"unknown dialect(s): {', '.join(sorted(unknown))}")
    if opts.repeat is not None and opts.repeat < 1:
        ap.error(f"--repeat must be 1 or more (got {opts.repeat})")
    compile_bytecode()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {machine()} · {speed()} · {cores()}",
          flush=True)
    results = []
    for n in sizes:
        for dialect in dialects:
            r = measure(n, dialect, prefect=opts.prefect and n == min(sizes) and dialect == dialects[0],
                        repeat=repeats(n, opts.repeat))
            results.append(r)
            s, p, d = r["suara"], r["suara_pull"], r["dlt"]
            print(f"N={n:,} {dialect}: Suara {s['rate']:,.0f}/s ({s['seconds']:.1f} s, {s['rss_mb']:.0f} MB), "
                  f"with the pull process {p['rate']:,.0f}/s ({p['seconds']:.1f} s, {p['rss_mb']:.0f} MB) · "
                  f"dlt {d['rate']:,.0f}/s ({d['seconds']:.1f} s) · counts {s['counts']}", flush=True)
            if len(s["rates"]) > 1:
                print("  runs (subs/s, in order): " + " · ".join(
                    f"{label} {', '.join(f'{x:,.0f}' for x in r[key]['rates'])}"
                    for key, label in (("suara", "one process"), ("suara_pull", "pull process"), ("dlt", "dlt"))),
                    flush=True)
            if r["prefect"]:
                p = r["prefect"]
                print(f"  Prefect flow: {p['rate']:,.0f}/s ({p['seconds']:.1f} s)", flush=True)
    print()
    print(table(results))
    print(f"\n# at the end: {speed()} · {cores()}")
    print("\nEach line is the median of its runs (3 up to N = 10,000 unless --repeat says otherwise; "
          "peak RSS the highest of them). Stage shares are of the time Suara's stages took, in both its "
          "processes when a pull process ran (flows/puller.py); `refresh` is the reporting refresh, `other` manifest look-ups, "
          "first-use imports and run records. dlt only copies the JSON: no validation, anonymisation or quarantine.")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
