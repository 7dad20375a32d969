// The model's move tables from a network state's route matrices, compiled: the formula of
// python/eepart_fast/model/tables.py (MoveFiller.all), term for term and in its order, so that both give
// the same bits (tests/test_move_fill.py checks them against each other). It sits beside the engine, not
// in it: the engine (cpp/core) sees the tables this fills, never the bits or routes they come from. A
// re-plan after a link change runs it, so that the new tables reach the engine in one call (issue 21).
#pragma once
#include <cstddef>
#include <vector>

namespace eepart {

// What the move tables' formula takes from the profile and the tiers' (de)serialisation, which no route
// change alters: each tensor's bits, and per tier the seconds to serialise / deserialise each tensor.
// Tensors are indexed as tensor_bits indexes them: 0 the input, 1..N the blocks' outputs, N+1 the result.
struct MoveForm {
    int N = 0;
    int M = 0;
    std::vector<double> bits;           // [N+2]
    std::vector<double> send, receive;  // [M][N+2]; empty: no (de)serialisation term is added
    bool serialised() const { return !send.empty(); }
};

// The three move tables for routes (path_latency, path_inv_bandwidth, each [M][M] row-major), samples
// produced at `source` and results wanted at `destination`: input [M], forward [N][M][M], result [M].
// A move from a tier to itself costs the route's zero; any other pays latency + bits / bandwidth, plus
// the sender's serialisation and the receiver's deserialisation. Returns the largest entry written, NaN
// if any entry is NaN (an overflow is inf, as numpy's is): the caller's cost rule reads it.
double fill_moves(const MoveForm& form, const double* path_latency, const double* path_inv, int source, int destination,
                  double* input, double* forward, double* result);

}  // namespace eepart
