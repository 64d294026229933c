// MNA fallback training: a deck with line resistance (the reference of the compiled line networks)
// trains through the solver and the discrete adjoint; the loss of a fixed batch of two samples
// falls.
#define BOOST_TEST_MODULE msnn_mna
#include <boost/test/unit_test.hpp>

#include "tests/unit/training/msnn_test_util.h"
#include "training/mna_network.h"

namespace mt = memspice::training;
using msnn_test::Images;
using msnn_test::LibPaths;
using msnn_test::TinyConfig;
using msnn_test::WriteDeck;

BOOST_AUTO_TEST_CASE(parasitic_deck_trains_through_mna) {
  const mt::NetworkConfig c = TinyConfig(false);
  WriteDeck(c, mt::InitParameters(c, 7), "msnn_mna_rc.cir", 10.0, 0.0);
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(mt::CompileNetwork("msnn_mna_rc.cir", LibPaths(), &cn, diag),
                        diag.Format());
  // Train 16 states of the output crossbar: each trainable state costs adjoint partials.
  mt::CompiledNetwork sub = cn;
  sub.trainable.clear();
  sub.trainable_models.clear();
  sub.trainable_g.clear();
  for (size_t k = 0; k < cn.trainable.size(); ++k)
    if (cn.trainable[k].rfind("w2", 0) == 0 && sub.trainable.size() < 16) {
      sub.trainable.push_back(cn.trainable[k]);
      sub.trainable_models.push_back(cn.trainable_models[k]);
      sub.trainable_g.push_back(cn.trainable_g[k]);
    }
  BOOST_REQUIRE_EQUAL(sub.trainable.size(), 16u);
  const mt::MnaNetwork net(sub);

  mt::DatasetPair data;
  for (mt::Dataset* d : {&data.train, &data.test}) {
    d->rows = 4;
    d->cols = 4;
    d->num_classes = 4;
    d->images = Images(4, 16, 9);
    d->labels = {0, 1, 2, 3};
  }
  mt::MnaTrainOptions o;
  o.epochs = 2;
  o.batch_size = 2;
  o.max_train = 2;
  o.max_test = 1;
  o.optimizer.lr = 0.1;
  o.progress = false;
  const mt::MnaTrainResult r = mt::TrainMna(net, data, o);
  BOOST_REQUIRE_EQUAL(r.epoch_loss.size(), 2u);
  BOOST_TEST_MESSAGE("epoch losses " << r.epoch_loss[0] << " " << r.epoch_loss[1]);
  BOOST_CHECK_LT(r.epoch_loss[1], r.epoch_loss[0]);
  for (double g : r.g) {
    BOOST_CHECK_GE(g, c.g_min * (1 - 1e-12));
    BOOST_CHECK_LE(g, c.g_max * (1 + 1e-12));
  }
  BOOST_CHECK_EQUAL(mt::EvaluateMna(net, r.g, data.test, 1).count, 1);
}
