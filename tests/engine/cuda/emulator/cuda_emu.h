// Test-only CPU emulation of the CUDA C the cuda engine generates (tests/engine/cuda/emulator/):
// included before a kernel module by the fake NVRTC, which compiles the module with the host C++
// compiler into a shared library. Blocks run one after another; the threads of a block run as
// fibers (ucontext) that switch at __syncthreads, so shared memory, barriers and the block-wide
// reductions behave as on a GPU (without its concurrency: races are not detected). A fiber starts
// through makecontext/swapcontext and then switches with _setjmp/_longjmp, which do not make the
// signal-mask system call swapcontext makes at every switch.
#include <csetjmp>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <ucontext.h>

struct dim3 {
  unsigned x, y, z;
};
static dim3 threadIdx, blockIdx, blockDim, gridDim;
static jmp_buf emu_sched;
static jmp_buf* emu_jb;
static unsigned emu_cur;
static int emu_finished;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
static bool emu_in_fiber;
static void __syncthreads() {
  if (!emu_in_fiber) abort();  // a barrier in a kernel run without fibers (see emu_launch)
  if (!_setjmp(emu_jb[emu_cur])) _longjmp(emu_sched, 1);
}
static inline unsigned __float_as_uint(float f) {
  unsigned u;
  memcpy(&u, &f, 4);
  return u;
}
static inline unsigned atomicAdd(unsigned* p, unsigned v) {
  unsigned o = *p;
  *p += v;
  return o;
}
template <class T> static inline T min(T a, T b) { return a < b ? a : b; }

typedef void (*emu_kernel)(void*, void*, void*, void*, void*, void*, void*, void*, void*, void*,
                           void*, void*, void*, void*, void*, void*);
static emu_kernel emu_fn;
static void* emu_a[16];

static void emu_call() {
  emu_fn(emu_a[0], emu_a[1], emu_a[2], emu_a[3], emu_a[4], emu_a[5], emu_a[6], emu_a[7], emu_a[8],
         emu_a[9], emu_a[10], emu_a[11], emu_a[12], emu_a[13], emu_a[14], emu_a[15]);
}
static void emu_fiber() {
  emu_call();
  emu_finished = 1;
  _longjmp(emu_sched, 1);
}

// Runs `fn` on a gx x gy grid of bx-thread blocks; `params` is CUDA's kernelParams, null-ended.
extern "C" int emu_launch(void* fn, unsigned gx, unsigned gy, unsigned bx, void** params) {
  int n = 0;
  while (params[n]) n++;
  if (n > 16) return 1;
  for (int i = 0; i < 16; i++) emu_a[i] = i < n ? *(void**)params[i] : nullptr;
  emu_fn = (emu_kernel)fn;
  gridDim = {gx, gy, 1};
  blockDim = {bx, 1, 1};
  const size_t STACK = 64 * 1024;
  static ucontext_t start, back;
  static jmp_buf* jb = nullptr;
  static char* stacks = nullptr;
  static char* done = nullptr;
  static unsigned cap = 0;
  if (bx > cap) {
    free(jb); free(stacks); free(done);
    jb = (jmp_buf*)calloc(bx, sizeof(jmp_buf));
    stacks = (char*)malloc(bx * STACK);
    done = (char*)malloc(bx);
    cap = bx;
  }
  emu_jb = jb;
  bool plain = false;
  for (unsigned y = 0; y < gy; y++) {
    for (unsigned x = 0; x < gx; x++) {
      blockIdx = {x, y, 0};
      if (plain) {
        for (unsigned t = 0; t < bx; t++) {
          threadIdx = {t, 0, 0};
          emu_call();
        }
        continue;
      }
      for (unsigned t = 0; t < bx; t++) done[t] = 0;
      unsigned left = bx;
      bool first = true;  // the first round starts each fiber on its own stack
      while (left) {
        for (unsigned t = 0; t < bx; t++) {
          if (done[t]) continue;
          emu_cur = t;
          threadIdx = {t, 0, 0};
          emu_finished = 0;
          emu_in_fiber = true;
          if (!_setjmp(emu_sched)) {
            if (first) {
              getcontext(&start);
              start.uc_stack.ss_sp = stacks + t * STACK;
              start.uc_stack.ss_size = STACK;
              start.uc_link = nullptr;
              makecontext(&start, emu_fiber, 0);
              swapcontext(&back, &start);
            } else {
              _longjmp(jb[t], 1);
            }
          }
          emu_in_fiber = false;
          if (emu_finished) {
            done[t] = 1;
            left--;
          }
          if (first && x == 0 && y == 0 && t == 0 && emu_finished) {
            // Thread 0 never reached a barrier: this kernel has none (the engine's kernels reach
            // theirs uniformly); the rest of its threads run as plain calls.
            plain = true;
            for (unsigned u = 1; u < bx; u++) {
              threadIdx = {u, 0, 0};
              emu_call();
            }
            left = 0;
            break;
          }
        }
        first = false;
      }
    }
  }
  return 0;
}
