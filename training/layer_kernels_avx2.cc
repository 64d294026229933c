// The float MIF layer kernels built for AVX2 (-mavx2 -mfma, see training/CMakeLists.txt), 8 neurons
// per pack. Called from network.cc only when the CPU supports the instruction set. Everything
// instantiated here uses NativePack (anonymous namespace), so nothing with AVX encoding can be
// shared with other translation units (layer_kernels.h explains why that matters).
#if defined(__x86_64__)
#define MEMSPICE_NATIVE_LANES 8
#include "training/layer_kernels.h"
#include "training/native_pack.h"

namespace memspice::training::kernels {

// flatten: inline the whole device model (mss::Evaluate returns six packs) into the loop.
__attribute__((flatten)) void ForwardLayerAvx2(const LayerConst<float>& c, int steps, int n_el,
                                               const float* rows, const float* alpha,
                                               const float* amp, const float* load, float* v,
                                               float* x1, float* x2) {
  ForwardLayer<float, NativePack, false>(c, steps, n_el, rows, alpha, amp, load, v, x1, x2);
}

__attribute__((flatten)) void BackwardLayerAvx2(const LayerConst<float>& c, int steps, int n_el,
                                                const float* v, const float* x1, const float* x2,
                                                const float* direct, const float* load, float* di,
                                                float* lv, float* lx1, float* lx2, float* gload) {
  BackwardLayer<float, NativePack, false>(c, steps, n_el, v, x1, x2, direct, load, di, lv, lx1, lx2,
                                          gload);
}

}  // namespace memspice::training::kernels
#endif  // __x86_64__
