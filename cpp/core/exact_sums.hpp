// Included by every file whose sums must round exactly as the other engines round them: no fused
// multiply-add (CMake passes -ffp-contract=off as well; this keeps it in any other build).
#pragma once
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
