"""What this machine has for running models: memory, CPU features and GPUs.

:func:`detect` reads, without third-party packages:

- RAM: ``/proc/meminfo`` (MemTotal, MemAvailable) on Linux, ``sysctl`` on macOS; then capped by
  a cgroup memory limit (v2 ``memory.max`` − ``memory.current``, v1 ``memory.limit_in_bytes`` −
  ``memory.usage_in_bytes``) and by ``RLIMIT_AS`` (the limit − this process's address space),
  since either makes an allocation fail before the machine runs out (under RLIMIT_AS less
  :data:`AS_SLACK` for stacks and mappings). ``ram_limit`` names the cap that applies.
- CPU: model name, logical cores, and the SIMD features llama.cpp uses (``/proc/cpuinfo`` flags,
  ``sysctl`` on macOS).
- GPUs: NVIDIA through NVML (``libnvidia-ml.so.1`` by ctypes: name, total and free memory); on
  Apple silicon the GPU shares the RAM (unified memory). ``gpu_status`` says honestly what is
  known: "nvidia", "apple", "none" (no NVIDIA driver and no other GPU device visible) or
  "unknown" (a GPU device exists but its memory cannot be read here, e.g. AMD or Intel).
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

NVML_LIBRARY = "libnvidia-ml.so.1" if sys.platform != "win32" else "nvml.dll"
# The SIMD features llama.cpp's CPU backend picks kernels by, as /proc/cpuinfo names them.
CPU_FEATURES = (
    "sse3", "ssse3", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8", "neon", "asimd", "sve", "i8mm", "dotprod",
)  # fmt: skip
# Under RLIMIT_AS a load also spends address space that is not memory: thread stacks and the
# mappings llama.cpp adds (measured: 120 MB beyond the estimate for SmolLM2 at 1024 tokens).
AS_SLACK = 192 << 20
_UNLIMITED = 1 << 62  # cgroup "max" and RLIM_INFINITY read as larger than any machine


@dataclass(frozen=True, slots=True)
class GPU:
    """One GPU: ``memory_total_bytes``/``memory_free_bytes`` None where they cannot be read;
    ``unified``: it shares the system RAM (Apple silicon)."""

    vendor: str
    name: str
    memory_total_bytes: int | None
    memory_free_bytes: int | None
    unified: bool = False


@dataclass(frozen=True, slots=True)
class Hardware:
    """This machine, as :func:`detect` found it (bytes; None = could not be read)."""

    ram_total_bytes: int | None
    ram_available_bytes: int | None
    ram_limit: str  # "system", "cgroup" or "rlimit_as": what caps ram_available_bytes
    cpu_model: str
    cpu_cores: int
    cpu_features: tuple[str, ...]
    gpu_status: str  # "nvidia", "apple", "none" or "unknown"
    gpu_note: str  # in words, e.g. "no NVIDIA GPU found"
    gpus: tuple[GPU, ...] = field(default=())
    gpu_offload: bool = False  # whether the llama.cpp build can use a GPU (set by the caller)

    @property
    def gpu_free_bytes(self) -> int:
        """Free memory on the emptiest dedicated GPU (0 when none is known)."""
        return max((g.memory_free_bytes or 0 for g in self.gpus if not g.unified), default=0)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: what ``ember doctor --json`` prints."""
        data = asdict(self)
        data["cpu_features"] = list(self.cpu_features)
        data["gpus"] = [asdict(g) for g in self.gpus]
        return data


def _meminfo() -> tuple[int | None, int | None]:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None, None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * 1024
    return values.get("MemTotal"), values.get("MemAvailable", values.get("MemFree"))


def _sysctl(name: str) -> str:
    try:
        done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return _UNLIMITED
    return int(text) if text.isdigit() else None


def _cgroup_room(root: Path = Path("/sys/fs/cgroup")) -> tuple[int, int] | None:
    """(limit, room left) of this process's cgroup memory limit, or None without one."""
    own = ""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and (parts[0] == "0" or "memory" in parts[1].split(",")):
                own = parts[2].lstrip("/")
                break
    except OSError:
        return None
    for base in (root / own, root, root / "memory" / own, root / "memory"):
        for limit_name, used_name in (
            ("memory.max", "memory.current"),
            ("memory.limit_in_bytes", "memory.usage_in_bytes"),
        ):
            limit = _read_int(base / limit_name)
            if limit is None:
                continue
            if limit >= _UNLIMITED or limit >= 1 << 60:
                return None
            used = _read_int(base / used_name) or 0
            return limit, max(limit - used, 0)
    return None


def _address_space() -> int | None:
    """This process's address space in bytes (VmSize), or None where it cannot be read."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _rlimit_room() -> tuple[int, int] | None:
    """(limit, room left) under RLIMIT_AS, or None when there is no such limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    used = _address_space() or 0
    return soft, max(soft - used - AS_SLACK, 0)


def _memory() -> tuple[int | None, int | None, str]:
    if sys.platform == "darwin":
        total = int(_sysctl("hw.memsize") or 0) or None
        pages = _sysctl("vm.page_free_count")
        size = _sysctl("hw.pagesize")
        free = int(pages) * int(size) if pages.isdigit() and size.isdigit() else None
        total_avail: tuple[int | None, int | None] = (total, free)
    else:
        total_avail = _meminfo()
    total, available = total_avail
    limit = "system"
    for name, capped in (("cgroup", _cgroup_room()), ("rlimit_as", _rlimit_room())):
        if capped is None:
            continue
        cap_total, room = capped
        if total is None or cap_total < total:
            total = cap_total
        if available is None or room < available:
            available = room
            limit = name
    return total, available, limit


def _cpu() -> tuple[str, int, tuple[str, ...]]:
    cores = os.cpu_count() or 1
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    if sys.platform == "darwin":
        model = _sysctl("machdep.cpu.brand_string") or model
        flags = {f.lower() for f in _sysctl("machdep.cpu.features").split()}
        if platform.machine() == "arm64":
            flags |= {"neon", "asimd"}
            if _sysctl("hw.optional.arm.FEAT_I8MM") == "1":
                flags.add("i8mm")
            if _sysctl("hw.optional.arm.FEAT_DotProd") == "1":
                flags.add("dotprod")
    else:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and model in ("", platform.machine()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
        except OSError:
            pass
        if "pni" in flags:
            flags.add("sse3")
        if "asimd" in flags:
            flags.add("neon")
        if "asimddp" in flags:
            flags.add("dotprod")
    return model, cores, tuple(f for f in CPU_FEATURES if f in flags)


class _NvmlMemory(ctypes.Structure):
    _fields_ = [
        ("total", ctypes.c_ulonglong),
        ("free", ctypes.c_ulonglong),
        ("used", ctypes.c_ulonglong),
    ]


def nvidia_gpus(library: str = NVML_LIBRARY) -> tuple[list[GPU], str]:
    """NVIDIA GPUs through NVML: (GPUs, a note). The note says why none were read: the library
    missing ("no NVIDIA driver"), or NVML failing (a driver that does not answer)."""
    try:
        nvml = ctypes.CDLL(library)
    except OSError:
        return [], "no NVIDIA GPU found (no NVIDIA driver: NVML is not installed)"
    try:
        init = getattr(nvml, "nvmlInit_v2", None) or nvml.nvmlInit
        if init() != 0:
            return [], "an NVIDIA driver is installed but NVML did not start"
        try:
            count = ctypes.c_uint()
            if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
                return [], "NVML could not count the NVIDIA GPUs"
            found = []
            for index in range(count.value):
                handle = ctypes.c_void_p()
                if nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) != 0:
                    continue
                name = ctypes.create_string_buffer(96)
                nvml.nvmlDeviceGetName(handle, name, ctypes.c_uint(96))
                memory = _NvmlMemory()
                ok = nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == 0
                found.append(
                    GPU(
                        "nvidia",
                        name.value.decode("utf-8", "replace") or f"NVIDIA GPU {index}",
                        memory.total if ok else None,
                        memory.free if ok else None,
                    )
                )
            return found, f"{len(found)} NVIDIA GPU(s) found" if found else "no NVIDIA GPU found"
        finally:
            nvml.nvmlShutdown()
    except AttributeError:
        return [], "the NVML library found lacks the functions Ember reads"


def _other_gpu_devices() -> bool:
    """Whether a GPU device node other than NVIDIA's is visible (render node or AMD's kfd)."""
    dri = Path("/dev/dri")
    try:
        return Path("/dev/kfd").exists() or any(p.name.startswith("renderD") for p in dri.iterdir())
    except OSError:
        return False


def detect(nvml_library: str = NVML_LIBRARY) -> Hardware:
    """Read this machine's memory, CPU and GPUs now (about a millisecond; NVML adds ~50 ms where
    a driver is installed). ``nvml_library``: the NVML shared library to open."""
    total, available, limit = _memory()
    model, cores, features = _cpu()
    gpus: list[GPU] = []
    if sys.platform == "darwin" and platform.machine() == "arm64":
        gpus = [GPU("apple", model or "Apple silicon GPU", total, available, unified=True)]
        status, note = "apple", "Apple silicon: the GPU shares the system memory"
    else:
        gpus, note = nvidia_gpus(nvml_library)
        if gpus:
            status = "nvidia"
        elif _other_gpu_devices():
            status, note = "unknown", f"{note}; a non-NVIDIA GPU is present, memory unknown"
        else:
            status = "none"
    return Hardware(
        ram_total_bytes=total,
        ram_available_bytes=available,
        ram_limit=limit,
        cpu_model=model,
        cpu_cores=cores,
        cpu_features=features,
        gpu_status=status,
        gpu_note=note,
        gpus=tuple(gpus),
        gpu_offload=_gpu_offload(),
    )


def _gpu_offload() -> bool:
    """Whether the installed llama.cpp can offload to a GPU; False when it is not importable or
    not yet imported (importing it costs ~0.3 s, so only a load or the doctor asks it)."""
    module = sys.modules.get("llama_cpp")
    if module is None:
        return False
    try:
        return bool(module.llama_supports_gpu_offload())
    except (AttributeError, OSError, RuntimeError):
        return False
