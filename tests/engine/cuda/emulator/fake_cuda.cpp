// Test-only libcuda.so.1 that runs on the CPU: device memory is host memory, a "module" is a shared
// library the fake NVRTC built from the kernel source, a launch runs its emu_launch (cuda_emu.h).
// Exports the driver symbols the cuda engine loads (lib/engine/cuda/ffi.ts), same signatures.
// Every allocation is followed by a canary region, checked at each stream synchronisation and free:
// a kernel writing past the end of a buffer makes them fail with CUDA_ERROR_ILLEGAL_ADDRESS (700).
// Devices: SAESWEEP_EMU_GPUS lists them as `free/total` MiB, comma-separated (default one device,
// 4096/8192); CUDA_VISIBLE_DEVICES selects and reorders them by index as the real driver does (the
// list stops at the first invalid entry). cuMemGetInfo reports the device of the current context,
// its free memory less what this process has allocated (cuMemAlloc_v2) and not freed.
// SAESWEEP_EMU_CTX_LOG=<file> appends `<pid> retain|release <ordinal>` per primary-context call, so
// a test can tell whether a process let go of the contexts it took.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

typedef unsigned long long CUdeviceptr;
struct Module { void* lib; };
struct Function { int (*launch)(void*, unsigned, unsigned, unsigned, void**); void* fn; };
struct EmuGpu { size_t free_, total; int index; };

static std::vector<EmuGpu> gpus;  // the visible devices, by ordinal
static int current = -1;          // ordinal of the current context, -1: none
static size_t liveBytes = 0;      // allocated by cuMemAlloc_v2 and not freed

static void readDevices() {
  std::vector<EmuGpu> all;
  const char* spec = getenv("SAESWEEP_EMU_GPUS");
  std::string list = spec && *spec ? spec : "4096/8192";
  size_t at = 0;
  while (at <= list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(at, end - at);
    size_t slash = item.find('/');
    size_t freeMiB = strtoull(item.c_str(), nullptr, 10);
    size_t totalMiB = slash == std::string::npos ? freeMiB : strtoull(item.c_str() + slash + 1, nullptr, 10);
    all.push_back({freeMiB << 20, totalMiB << 20, (int)all.size()});
    at = end + 1;
  }
  const char* visible = getenv("CUDA_VISIBLE_DEVICES");
  if (!visible) {
    gpus = all;
    return;
  }
  std::string v = visible;
  at = 0;
  while (at < v.size()) {
    size_t end = v.find(',', at);
    if (end == std::string::npos) end = v.size();
    std::string item = v.substr(at, end - at);
    char* stop = nullptr;
    long i = strtol(item.c_str(), &stop, 10);
    if (item.empty() || *stop || i < 0 || i >= (long)all.size()) break;
    gpus.push_back(all[i]);
    at = end + 1;
  }
}

static void logCtx(const char* what, int dev) {
  const char* path = getenv("SAESWEEP_EMU_CTX_LOG");
  if (!path) return;
  FILE* f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "%d %s %d\n", (int)getpid(), what, dev);
  fclose(f);
}

extern "C" {
int cuInit(unsigned) {
  if (gpus.empty()) readDevices();
  return gpus.empty() ? 100 : 0;  // CUDA_ERROR_NO_DEVICE
}
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGetCount(int* n) { *n = (int)gpus.size(); return 0; }
int cuDeviceGet(int* d, int ordinal) {
  if (ordinal < 0 || ordinal >= (int)gpus.size()) return 101;  // CUDA_ERROR_INVALID_DEVICE
  *d = ordinal;
  return 0;
}
int cuDeviceGetName(char* name, int len, int) { strncpy(name, "CPU emulation", len); return 0; }
int cuDeviceGetAttribute(int* v, int attr, int) { *v = attr == 75 ? 9 : 0; return 0; }
int cuDevicePrimaryCtxRetain(void** ctx, int dev) {
  if (dev < 0 || dev >= (int)gpus.size()) return 101;
  logCtx("retain", dev);
  *ctx = (void*)(uintptr_t)(dev + 1);
  return 0;
}
int cuDevicePrimaryCtxRelease_v2(int dev) {
  if (dev < 0 || dev >= (int)gpus.size()) return 101;
  logCtx("release", dev);
  return 0;
}
int cuCtxSetCurrent(void* ctx) { current = (int)(uintptr_t)ctx - 1; return 0; }
int cuCtxSynchronize() { return 0; }
int cuMemGetInfo_v2(size_t* free_, size_t* total) {
  if (current < 0) return 201;  // CUDA_ERROR_INVALID_CONTEXT
  *free_ = gpus[current].free_ > liveBytes ? gpus[current].free_ - liveBytes : 0;
  *total = gpus[current].total;
  return 0;
}
}
static const size_t CANARY = 4096;
static std::map<uintptr_t, size_t> live;  // allocation -> its size
static bool canariesIntact() {
  for (auto& [p, n] : live) {
    const unsigned char* c = (const unsigned char*)p + n;
    for (size_t i = 0; i < CANARY; i++) if (c[i] != 0xA5) return false;
  }
  return true;
}
extern "C" {
int cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
  unsigned char* m = (unsigned char*)calloc(1, n + CANARY);
  if (!m) return 2;
  memset(m + n, 0xA5, CANARY);
  live[(uintptr_t)m] = n;
  liveBytes += n;
  *p = (CUdeviceptr)(uintptr_t)m;
  return 0;
}
int cuMemFree_v2(CUdeviceptr p) {
  if (!canariesIntact()) return 700;
  liveBytes -= live[(uintptr_t)p];
  live.erase((uintptr_t)p);
  free((void*)(uintptr_t)p);
  return 0;
}
int cuMemAllocHost_v2(void** p, size_t n) { *p = calloc(1, n); return *p ? 0 : 2; }
int cuMemFreeHost(void* p) { free(p); return 0; }
int cuMemcpyHtoD_v2(CUdeviceptr d, const void* s, size_t n) { memcpy((void*)(uintptr_t)d, s, n); return 0; }
int cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void*) { return cuMemcpyHtoD_v2(d, s, n); }
int cuMemcpyDtoH_v2(void* d, CUdeviceptr s, size_t n) { memcpy(d, (void*)(uintptr_t)s, n); return 0; }
int cuMemsetD32_v2(CUdeviceptr d, unsigned v, size_t n) {
  unsigned* p = (unsigned*)(uintptr_t)d;
  for (size_t i = 0; i < n; i++) p[i] = v;
  return 0;
}
int cuStreamCreate(void** s, unsigned) { *s = (void*)2; return 0; }
int cuStreamDestroy_v2(void*) { return 0; }
int cuStreamSynchronize(void*) { return canariesIntact() ? 0 : 700; }
int cuEventCreate(void** e, unsigned) { *e = (void*)3; return 0; }
int cuEventDestroy_v2(void*) { return 0; }
int cuEventRecord(void*, void*) { return 0; }
int cuEventSynchronize(void*) { return 0; }
int cuEventElapsedTime(float* ms, void*, void*) { *ms = 0; return 0; }
int cuModuleLoadData(Module** m, const void* image) {
  void* lib = dlopen((const char*)image, RTLD_NOW | RTLD_LOCAL);
  if (!lib) return 200;  // CUDA_ERROR_INVALID_IMAGE
  *m = new Module{lib};
  return 0;
}
int cuModuleUnload(Module* m) { dlclose(m->lib); delete m; return 0; }
int cuModuleGetFunction(Function** f, Module* m, const char* name) {
  void* fn = dlsym(m->lib, name);
  void* launch = dlsym(m->lib, "emu_launch");
  if (!fn || !launch) return 500;  // CUDA_ERROR_NOT_FOUND
  *f = new Function{(int (*)(void*, unsigned, unsigned, unsigned, void**))launch, fn};
  return 0;
}
int cuLaunchKernel(Function* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned, void*, void** params, void**) {
  if (gz != 1 || by != 1 || bz != 1) return 1;
  return f->launch(f->fn, gx, gy, bx, params) ? 1 : 0;
}
int cuGetErrorName(int e, const char** s) {
  *s = e == 2     ? "CUDA_ERROR_OUT_OF_MEMORY"
       : e == 101 ? "CUDA_ERROR_INVALID_DEVICE"
       : e == 201 ? "CUDA_ERROR_INVALID_CONTEXT"
       : e == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS"
                  : "CUDA_ERROR_EMULATED";
  return 0;
}
int cuGetErrorString(int, const char** s) { *s = "CPU emulation"; return 0; }
}
