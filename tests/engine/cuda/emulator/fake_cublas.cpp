// Test-only libcublas: cublasGemmEx as the BLAS definition of a column-major fp32 GEMM on host
// memory (the fake libcuda's device memory), and the handle calls the cuda engine makes.
extern "C" {
int cublasCreate_v2(void** h) { *h = (void*)4; return 0; }
int cublasDestroy_v2(void*) { return 0; }
int cublasSetStream_v2(void*, void*) { return 0; }
int cublasSetMathMode(void*, int) { return 0; }
int cublasGetVersion_v2(void*, int* v) { *v = 0; return 0; }
int cublasGemmEx(void*, int ta, int tb, int m, int n, int k, const void* alpha, const void* A,
                 int at, int lda, const void* B, int bt, int ldb, const void* beta, void* C, int ct,
                 int ldc, int, int) {
  if (at != 0 || bt != 0 || ct != 0) return 15;  // CUBLAS_STATUS_NOT_SUPPORTED
  const float* a = (const float*)A;
  const float* b = (const float*)B;
  float* c = (float*)C;
  float al = *(const float*)alpha, be = *(const float*)beta;
  for (int j = 0; j < n; j++) {
    for (int i = 0; i < m; i++) {
      float s = 0;
      for (int l = 0; l < k; l++) {
        float x = ta ? a[l + i * lda] : a[i + l * lda];
        float y = tb ? b[j + l * ldb] : b[l + j * ldb];
        s += x * y;
      }
      c[i + j * ldc] = al * s + (be == 0 ? 0 : be * c[i + j * ldc]);
    }
  }
  return 0;
}
}
