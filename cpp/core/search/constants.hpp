// The constants of the exact searches (CPU and GPU alike): one definition each. Plain constexpr scalars,
// usable in device code too.
#pragma once

namespace eepart {

// Frontier points whose latency and accuracy both agree to this relative tolerance count once
// (python/eepart_fast/frontier.py's RTOL).
constexpr double kRtol = 1e-12;
// Relative slack on the relaxed bounds: far above their rounding (~1e-15), far below any real gap.
constexpr double kSlack = 1e-9;
// The lambdas of the scalarised bounds, as multiples of the latency of the whole network on its best
// tier, where no better choice is known.
constexpr double kLambdaScale[] = {0.05, 0.25, 1.0, 4.0, 16.0, 64.0, 256.0};
constexpr int kMaxLambdas = sizeof(kLambdaScale) / sizeof(kLambdaScale[0]);
// Lanes of the relaxed bounds: lane 0 bounds the latency, lane j > 0 latency - lambda_j * accuracy. The GPU
// engines size their per-lane arrays by it.
constexpr int kBoundLanes = kMaxLambdas + 1;

}  // namespace eepart
