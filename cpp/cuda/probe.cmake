# Decides whether the CUDA module can be built here. Sets EEPART_FAST_CUDA_ARCHS (the architectures:
# 80 and 90 as machine code, 90 as PTX for newer devices; never `native`), EEPART_FAST_CUDA_OK, and
# EEPART_FAST_CUDA_WHY (the reason when it cannot). Two steps, both sandboxed: check_language finds a
# CUDA compiler that can build anything at all; a separate CMake run then builds probe/ (CUB, intrinsics, warp
# votes) for those architectures. Either failing leaves the CPU build untouched.
if(NOT DEFINED EEPART_FAST_CUDA_ARCHS)
  set(EEPART_FAST_CUDA_ARCHS "80-real;90-real;90-virtual")
endif()
set(EEPART_FAST_CUDA_OK FALSE)
set(EEPART_FAST_CUDA_WHY "")
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  set(EEPART_FAST_CUDA_WHY "no working CUDA compiler (nvcc) was found")
else()
  if(DEFINED CMAKE_CUDA_ARCHITECTURES)  # the user's choice, which cpp/cuda/CMakeLists.txt keeps too
    string(REPLACE ";" "," _eepart_archs "${CMAKE_CUDA_ARCHITECTURES}")
  else()
    string(REPLACE ";" "," _eepart_archs "${EEPART_FAST_CUDA_ARCHS}")
  endif()
  set(_eepart_dir ${CMAKE_BINARY_DIR}/eepart_cuda_probe)
  file(REMOVE_RECURSE ${_eepart_dir})
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/probe -B ${_eepart_dir} -G ${CMAKE_GENERATOR}
            -DCMAKE_MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
            -DCMAKE_CUDA_COMPILER=${CMAKE_CUDA_COMPILER} -DPROBE_ARCHS=${_eepart_archs}
    RESULT_VARIABLE _eepart_rc OUTPUT_VARIABLE _eepart_log ERROR_VARIABLE _eepart_log)
  if(_eepart_rc EQUAL 0)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${_eepart_dir}
      RESULT_VARIABLE _eepart_rc OUTPUT_VARIABLE _eepart_log2 ERROR_VARIABLE _eepart_log2)
    string(APPEND _eepart_log "${_eepart_log2}")
  endif()
  if(_eepart_rc EQUAL 0)
    set(_eepart_cuda_probe TRUE)
  else()
    set(_eepart_cuda_probe FALSE)
  endif()
  set(_eepart_cuda_probe_log "${_eepart_log}")
  if(_eepart_cuda_probe)
    set(EEPART_FAST_CUDA_OK TRUE)
  else()
    file(WRITE ${CMAKE_BINARY_DIR}/eepart_cuda_probe.log "${_eepart_cuda_probe_log}")
    set(EEPART_FAST_CUDA_WHY "the CUDA compiler ${CMAKE_CUDA_COMPILER} cannot build the probe for architectures ${EEPART_FAST_CUDA_ARCHS} (log: ${CMAKE_BINARY_DIR}/eepart_cuda_probe.log)")
  endif()
endif()
