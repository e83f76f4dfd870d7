// libFuzzer targets for every parser that reads files people or programs write. Each target
// must end in a result or an InputError; anything else (a crash, a sanitizer report, another
// exception type, a hang) is a finding. Built by bench/fuzz/run.sh with clang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compute/cost_model.hpp"
#include "report/measurement.hpp"
#include "scenario/scenario.hpp"
#include "topology/graph.hpp"

namespace {

template <typename Parse>
void expect_result_or_input_error(Parse parse) {
  try {
    parse();
  } catch (const trainsim::InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
#if defined(TRAINSIM_FUZZ_SCENARIO)
  expect_result_or_input_error([&] {
    const auto sc = trainsim::load_scenario_text(text, "fuzz.yaml");
    (void)trainsim::check_plan(sc.model, sc.cluster, sc.plan);
  });
#elif defined(TRAINSIM_FUZZ_TOPOLOGY)
  expect_result_or_input_error([&] {
    const auto spec = trainsim::parse_topology_text(text, "fuzz.yaml");
    if (spec.total_gpus() <= 4096) (void)trainsim::unreachable_gpus(trainsim::build_cluster_graph(spec));
  });
#elif defined(TRAINSIM_FUZZ_HF_CONFIG)
  expect_result_or_input_error([&] { (void)trainsim::parse_hf_config(text, "config.json"); });
#elif defined(TRAINSIM_FUZZ_CALIBRATION)
  expect_result_or_input_error([&] { (void)trainsim::parse_calibration(text, "profile.json"); });
#elif defined(TRAINSIM_FUZZ_MEASUREMENT)
  expect_result_or_input_error([&] {
    const auto run = trainsim::parse_measurement(text, "run.json");
    auto sc = trainsim::load_scenario_text(
        "name: f\nmodel: {arch: gpt, layers: 2, hidden: 64, heads: 4, vocab: 256, seq_len: 32}\n"
        "cluster: {topology: cpu-loopback, gpus: 2}\nplan: {dp: 2, micro_batch: 4, global_batch: 8}\n",
        "base.yaml");
    trainsim::apply_measurement(sc, run, "run.json");
  });
#endif
  return 0;
}
