# Post-build guard for training/layer_kernels.h's rule: the AVX2 / AVX-512 objects must not define
# weak (mergeable) symbols, else the linker could pick an AVX-encoded copy of a shared inline
# function for code that runs on CPUs without AVX. Run by training/CMakeLists.txt with
# -DNM=<nm> -DOBJECTS=<the training library's objects>.
foreach(obj IN LISTS OBJECTS)
  if(NOT obj MATCHES "layer_kernels_avx")
    continue()
  endif()
  execute_process(COMMAND ${NM} -C --defined-only "${obj}" OUTPUT_VARIABLE syms
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_isa_symbols: '${NM}' failed on ${obj}")
  endif()
  string(REGEX MATCHALL "[^\n]* [WVu] [^\n]*" weak "${syms}")
  # DW.ref.__gxx_personality_v0 (sanitizer builds) is a data pointer for unwinding, not code.
  list(FILTER weak EXCLUDE REGEX "DW\\.ref\\.")
  if(weak)
    string(REPLACE ";" "\n  " weak "${weak}")
    message(FATAL_ERROR "check_isa_symbols: ${obj} defines weak symbols compiled with AVX flags "
                        "(instantiate only NativePack types there, see layer_kernels.h):\n  ${weak}")
  endif()
endforeach()
