// Test-only libcuda.so.1 that runs on the CPU: device memory is host memory, a "module" is a shared
// library the fake NVRTC built from the kernel source, a launch runs its emu_launch (cuda_emu.h).
// Exports the driver symbols the cuda engine loads (lib/engine/cuda/ffi.ts), same signatures.
// Every allocation is followed by a canary region, checked at each stream synchronisation and free:
// a kernel writing past the end of a buffer makes them fail with CUDA_ERROR_ILLEGAL_ADDRESS (700).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>

typedef unsigned long long CUdeviceptr;
struct Module { void* lib; };
struct Function { int (*launch)(void*, unsigned, unsigned, unsigned, void**); void* fn; };

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGetCount(int* n) { *n = 1; return 0; }
int cuDeviceGet(int* d, int) { *d = 0; return 0; }
int cuDeviceGetName(char* name, int len, int) { strncpy(name, "CPU emulation", len); return 0; }
int cuDeviceGetAttribute(int* v, int attr, int) { *v = attr == 75 ? 9 : 0; return 0; }
int cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)1; return 0; }
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void*) { return 0; }
int cuCtxSynchronize() { return 0; }
int cuMemGetInfo_v2(size_t* free_, size_t* total) { *free_ = 1ull << 32; *total = 1ull << 33; return 0; }
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
  *p = (CUdeviceptr)(uintptr_t)m;
  return 0;
}
int cuMemFree_v2(CUdeviceptr p) {
  if (!canariesIntact()) return 700;
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
  *s = e == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : e == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : "CUDA_ERROR_EMULATED";
  return 0;
}
int cuGetErrorString(int, const char** s) { *s = "CPU emulation"; return 0; }
}
