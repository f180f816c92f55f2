// Test-only libnvrtc that "compiles" the cuda engine's CUDA C module with the host C++ compiler,
// cuda_emu.h first, into a shared library; the "CUBIN" it returns is that library's path (which
// the fake libcuda dlopens). Built with -DEMU_HEADER="<path of cuda_emu.h>".
#include <cstdlib>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

struct Program { std::string src, lib, log; };

extern "C" {
int nvrtcVersion(int* major, int* minor) { *major = 99; *minor = 0; return 0; }
const char* nvrtcGetErrorString(int e) { return e == 6 ? "NVRTC_ERROR_COMPILATION" : "NVRTC_ERROR"; }
int nvrtcCreateProgram(Program** p, const char* src, const char*, int, const char* const*, const char* const*) {
  *p = new Program{src, "", ""};
  return 0;
}
int nvrtcDestroyProgram(Program** p) { delete *p; *p = nullptr; return 0; }
int nvrtcCompileProgram(Program* p, int, const char* const*) {
  // Under $SAESWEEP_EMU_WORK (the test's temporary folder, removed after it), else /tmp.
  const char* work = getenv("SAESWEEP_EMU_WORK");
  std::string tmpl = std::string(work ? work : "/tmp") + "/module-XXXXXX";
  if (!mkdtemp(&tmpl[0])) return 6;
  std::string d = tmpl, cpp = d + "/module.cpp", so = d + "/module.so", log = d + "/log.txt";
  FILE* f = fopen(cpp.c_str(), "w");
  fprintf(f, "#include \"%s\"\n%s", EMU_HEADER, p->src.c_str());
  fclose(f);
  std::string cmd = "c++ -std=c++17 -O1 -U_FORTIFY_SOURCE -w -shared -fPIC -o " + so + " " + cpp + " 2>" + log;
  int rc = system(cmd.c_str());
  FILE* l = fopen(log.c_str(), "r");
  if (l) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, l)) > 0) p->log.append(buf, n);
    fclose(l);
  }
  if (rc != 0) return 6;
  p->lib = so;
  return 0;
}
int nvrtcGetProgramLogSize(Program* p, size_t* n) { *n = p->log.size() + 1; return 0; }
int nvrtcGetProgramLog(Program* p, char* out) { memcpy(out, p->log.c_str(), p->log.size() + 1); return 0; }
int nvrtcGetCUBINSize(Program* p, size_t* n) { *n = p->lib.size() + 1; return 0; }
int nvrtcGetCUBIN(Program* p, char* out) { memcpy(out, p->lib.c_str(), p->lib.size() + 1); return 0; }
}
