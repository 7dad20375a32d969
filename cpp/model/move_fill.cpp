#include "move_fill.hpp"

#include <cmath>
#include <limits>

#include "exact_sums.hpp"  // no fused multiply-add: the bits of numpy's separate multiply and add

namespace eepart {
namespace {

// The largest value seen, NaN once any is NaN (numpy.maximum.reduce's answer).
struct Largest {
    double value = -std::numeric_limits<double>::infinity();
    void see(double v) {
        if (std::isnan(v) || std::isnan(value)) {
            value = std::numeric_limits<double>::quiet_NaN();
        } else if (v > value) {
            value = v;
        }
    }
};

}  // namespace

double fill_moves(const MoveForm& form, const double* path_latency, const double* path_inv, int source, int destination,
                  double* input, double* forward, double* result) {
    const int n = form.N, m = form.M;
    const std::size_t width = static_cast<std::size_t>(n) + 2;  // a tier's row of send / receive
    const bool serialised = form.serialised();
    Largest largest;
    // The sums as MoveFiller.all writes them: (route latency + bits * 1/bandwidth) + serialisation.
    for (int b = 0; b < m; ++b) {
        const std::size_t route = static_cast<std::size_t>(source) * m + b;
        double cost = path_latency[route] + form.bits[0] * path_inv[route];
        if (serialised) cost = cost + (b != source ? form.send[source * width] + form.receive[b * width] : 0.0);
        input[b] = cost;
        largest.see(cost);
    }
    for (int q = 0; q < n; ++q) {  // block q+1's output: tensor q+1
        const double bits = form.bits[q + 1];
        for (int a = 0; a < m; ++a) {
            for (int b = 0; b < m; ++b) {
                const std::size_t route = static_cast<std::size_t>(a) * m + b;
                double cost = path_latency[route] + bits * path_inv[route];
                if (serialised)
                    cost = cost + (a != b ? form.send[a * width + q + 1] + form.receive[b * width + q + 1] : 0.0);
                forward[(static_cast<std::size_t>(q) * m + a) * m + b] = cost;
                largest.see(cost);
            }
        }
    }
    for (int a = 0; a < m; ++a) {
        const std::size_t route = static_cast<std::size_t>(a) * m + destination;
        double cost = path_latency[route] + form.bits[n + 1] * path_inv[route];
        if (serialised)
            cost = cost +
                   (a != destination ? form.send[a * width + n + 1] + form.receive[destination * width + n + 1] : 0.0);
        result[a] = cost;
        largest.see(cost);
    }
    return largest.value;
}

}  // namespace eepart
