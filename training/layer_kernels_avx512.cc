// The float MIF layer kernels built for AVX-512 (-mavx512f -mfma, see training/CMakeLists.txt), 16
// neurons per pack (ForwardLayerAvx512, BackwardLayerAvx512). Called from network.cc only when the
// CPU supports the instruction set.
#if defined(__x86_64__)
#define MEMSPICE_NATIVE_LANES 16
#define MEMSPICE_ISA_KERNEL(name) name##Avx512
#include "training/layer_kernels_isa.inc"
#endif  // __x86_64__
