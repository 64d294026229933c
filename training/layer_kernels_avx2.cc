// The float MIF layer kernels built for AVX2 (-mavx2 -mfma, see training/CMakeLists.txt), 8 neurons
// per pack (ForwardLayerAvx2, BackwardLayerAvx2). Called from network.cc only when the CPU supports
// the instruction set.
#if defined(__x86_64__)
#define MEMSPICE_NATIVE_LANES 8
#define MEMSPICE_ISA_KERNEL(name) name##Avx2
#include "training/layer_kernels_isa.inc"
#endif  // __x86_64__
