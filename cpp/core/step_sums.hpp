// What the sweep adds up along a configuration's steps: the latency alone, or the latency and the energy
// together (docs/model.md "Energy": the energy is the latency's engine form on the energy tables). The
// sweep's code is written once over V = double or LatencyEnergy: each step's term is one expression applied
// to each objective's tables (step_term), and the sums are formed in the same order, so each coordinate
// has the bits of evaluate.cpp's straight loop on its own tables.
#pragma once
#include <algorithm>
#include <type_traits>

#include "tables.hpp"

namespace eepart {

struct LatencyEnergy {
    double latency, energy;
};

inline LatencyEnergy operator+(const LatencyEnergy& x, const LatencyEnergy& y) {
    return {x.latency + y.latency, x.energy + y.energy};
}

template <class V>
constexpr bool kCarriesEnergy = std::is_same<V, LatencyEnergy>::value;

inline double latency_of(double v) { return v; }
inline double latency_of(const LatencyEnergy& v) { return v.latency; }

// The least of each coordinate.
inline double least(double x, double y) { return std::min(x, y); }
inline LatencyEnergy least(const LatencyEnergy& x, const LatencyEnergy& y) {
    return {std::min(x.latency, y.latency), std::min(x.energy, y.energy)};
}

// Whether every coordinate meets its bound (false for NaN); branch-free, so that a leaf's fate is data.
inline bool within(double v, double bound) { return v <= bound; }
inline bool within(const LatencyEnergy& v, const LatencyEnergy& bound) {
    return (v.latency <= bound.latency) & (v.energy <= bound.energy);
}

// Whether some coordinate is above its bound: every term is >= 0 and rounding is monotone, so nothing
// that extends such a prefix meets the bounds.
inline bool above(double v, double bound) { return v > bound; }
inline bool above(const LatencyEnergy& v, const LatencyEnergy& bound) {
    return v.latency > bound.latency || v.energy > bound.energy;
}

template <class V>
V bounds(double max_latency, double max_energy) {
    if constexpr (kCarriesEnergy<V>) return {max_latency, max_energy};
    else return max_latency;
}

// One step's term for each objective: `term` on the cost tables, and on their energy view.
template <class V, class F>
V step_term(const Tables& cost, const Tables& energy, F term) {
    if constexpr (kCarriesEnergy<V>) return {term(cost), term(energy)};
    else return term(cost);
}

}  // namespace eepart
