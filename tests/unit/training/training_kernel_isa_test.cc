// The instruction-set-specific float kernels (AVX2, AVX-512, chosen at run time) against the
// generic double kernels: same loss and gradients to float accuracy, bit-identical across thread
// counts, with neuron counts that are not multiples of the pack width (padded tail packs).
#define BOOST_TEST_MODULE training_kernel_isa
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "training/dataset.h"
#include "training/network.h"

namespace mt = memspice::training;

namespace {

mt::NetworkConfig OddConfig(const std::string& isa, mt::CrossbarForm form) {
  mt::NetworkConfig c;
  c.layer_sizes = {20, 13, 5};  // 3 samples: 39 and 15 elements, tails in 8- and 16-lane packs
  c.steps = 200;
  c.period = 50;
  c.layer_scale = {form == mt::CrossbarForm::kCircuit ? 5e4 : 300.0, 0.25};
  c.v_scale = 5e-3;
  c.method = mt::Method::kSemiImplicit;
  c.form = form;
  c.isa = isa;
  return c;
}

struct Batch {
  std::vector<float> x;
  std::vector<int> y = {0, 2, 4};
  Batch() : x(3 * 20) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (float& v : x) v = u(rng);
  }
};

double RelNorm(const mt::Parameters& a, const mt::Parameters& b) {
  double num = 0, den = 0;
  for (size_t l = 0; l < a.g_plus.size(); ++l) {
    num += (a.g_plus[l] - b.g_plus[l]).squaredNorm() + (a.g_minus[l] - b.g_minus[l]).squaredNorm();
    den += b.g_plus[l].squaredNorm() + b.g_minus[l].squaredNorm();
  }
  return std::sqrt(num / den);
}

bool BitIdentical(const mt::PassResult& a, const mt::PassResult& b) {
  if (a.loss_sum != b.loss_sum) return false;
  for (size_t l = 0; l < a.grad.g_plus.size(); ++l)
    if (a.grad.g_plus[l] != b.grad.g_plus[l] || a.grad.g_minus[l] != b.grad.g_minus[l])
      return false;
  return true;
}

// Runs the kernels of `isa` against the generic double kernels in both crossbar forms.
void CheckIsa(const char* isa) {
  const Batch b;
  for (mt::CrossbarForm form : {mt::CrossbarForm::kIdeal, mt::CrossbarForm::kCircuit}) {
    const mt::Network ref_net(OddConfig("generic", form));
    const mt::Parameters p = mt::InitParameters(ref_net.config(), 11);
    const mt::PassResult ref = ref_net.Run<double>(p, b.x.data(), b.y.data(), 3, true, 1, 1);
    double spiking = 0;
    for (const auto& s : ref.samples) spiking += s.spiking_fraction;
    BOOST_CHECK_GT(spiking, 0.0);  // non-trivial dynamics
    const mt::Network net(OddConfig(isa, form));
    BOOST_CHECK_EQUAL(mt::KernelIsaName(net.isa()), isa);
    const mt::PassResult one = net.Run<float>(p, b.x.data(), b.y.data(), 3, true, 1, 1);
    const mt::PassResult two = net.Run<float>(p, b.x.data(), b.y.data(), 3, true, 2, 1);
    BOOST_CHECK(BitIdentical(one, two));
    const double dl = std::abs(one.loss_sum - ref.loss_sum) / std::abs(ref.loss_sum);
    const double dg = RelNorm(one.grad, ref.grad);
    BOOST_TEST_MESSAGE(isa << " " << mt::CrossbarFormName(form) << ": loss rel err " << dl
                           << ", gradient rel err " << dg);
    BOOST_CHECK_LT(dl, 1e-5);
    BOOST_CHECK_LT(dg, 1e-4);
    for (int s = 0; s < 3; ++s)
      BOOST_CHECK_EQUAL(one.samples[s].predicted, ref.samples[s].predicted);
  }
}

// Precondition of the per-ISA cases: Boost.Test reports a case whose ISA this CPU or build lacks
// as skipped, with the reason.
struct IsaSupported {
  const char* isa;
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    const std::string why = OddConfig(isa, mt::CrossbarForm::kIdeal).Validate();
    boost::test_tools::assertion_result r(why.empty());
    r.message() << isa << " skipped: " << why;
    return r;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(generic_float_matches_double) { CheckIsa("generic"); }

BOOST_AUTO_TEST_CASE(avx2_matches_double, *boost::unit_test::precondition(IsaSupported{"avx2"})) {
  CheckIsa("avx2");
}

BOOST_AUTO_TEST_CASE(avx512_matches_double,
                     *boost::unit_test::precondition(IsaSupported{"avx512"})) {
  CheckIsa("avx512");
}

BOOST_AUTO_TEST_CASE(isa_option_is_validated) {
  mt::NetworkConfig c;
  c.isa = "sse9";
  const std::string e = c.Validate();
  BOOST_TEST_MESSAGE(e);
  BOOST_CHECK(e.find("option 'isa' = 'sse9' must be auto, avx512, avx2 or generic") !=
              std::string::npos);
  c.isa = "generic";
  BOOST_CHECK(c.Validate().empty());
  c.isa = "auto";
  BOOST_CHECK(c.Validate().empty());
  BOOST_CHECK(mt::KernelIsaSupported(mt::ParseKernelIsa("auto")));
}

// The tape estimate scales with T and the chunk size, as the stored (T+1) x N state arrays do.
BOOST_AUTO_TEST_CASE(tape_bytes_scale_with_steps_and_chunk) {
  mt::NetworkConfig c;
  c.steps = 1000;
  const mt::Network net(c);
  const size_t t16 = net.TapeBytesPerChunk(16);
  // v, x1, x2, adjoint source per step for 110 neurons, drive for 10, dL/dI for 100: 4 B each.
  const double per_sample_step = 4.0 * (4 * 110 + 10 + 100);
  BOOST_CHECK_CLOSE(static_cast<double>(t16) / (16 * 1000), per_sample_step, 1.0);
  BOOST_CHECK_CLOSE(static_cast<double>(net.TapeBytesPerChunk(32)), 2.0 * t16, 0.1);
}
