// Qt Test, under QT_QPA_PLATFORM=offscreen: drive the editor as a person would.
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGraphicsScene>
#include <QLabel>
#include <QLineSeries>
#include <QScatterSeries>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>
#include <cmath>
#include <map>
#include <set>

#include "compare_view.hpp"
#include "main_window.hpp"
#include "plans_view.hpp"
#include "scenario/scenario.hpp"
#include "scenario_editor.hpp"
#include "summary_view.hpp"
#include "timeline_view.hpp"
#include "topology_view.hpp"
#include "validation_view.hpp"

using trainsim::gui::MainWindow;
using trainsim::gui::TopologyView;

namespace {
// Opens scenarios/NAME, predicts it and shows the outcome.
trainsim::gui::RunOutcome predicted(MainWindow& window, const QString& name) {
  if (!window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/" + name)) return {};
  auto outcome = window.predictNow();
  window.showOutcome(outcome);
  return outcome;
}
}  // namespace

class GuiTest : public QObject {
  Q_OBJECT
 private slots:
  void changingTpChangesThePrediction() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/llama2-70b-512-h100.yaml"));
    QSignalSpy done(&window, &MainWindow::predictionFinished);
    window.runPrediction();
    QVERIFY(done.wait(60000));
    const QString before = window.summary()->text();
    QVERIFY(before.contains("Step time"));
    // tp 8 -> 4 with pp 4: dp doubles... keep the GPUs right by halving tp and doubling dp.
    auto* editor = window.editor();
    auto plan = editor->scenario().plan;
    plan.tp = 4;
    plan.dp = 32;
    editor->setPlan(plan);
    QVERIFY(editor->isValid());
    // The edit schedules a new prediction; the summary changes when it lands.
    QTRY_VERIFY_WITH_TIMEOUT(window.summary()->text() != before, 60000);
  }

  void anInvalidPlanShowsTheReasonAndDoesNotRun() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/llama2-70b-512-h100.yaml"));
    auto* editor = window.editor();
    editor->tpBox()->setValue(3);  // 64 heads are not divisible by 3, and 3*4*16 != 512
    QVERIFY(!editor->isValid());
    QVERIFY(editor->problems().contains("plan.tp"));
    QVERIFY(editor->problems().contains("heads"));
    window.runPrediction();
    QVERIFY(window.statusText().contains("not valid"));
  }

  void choosingAFrameworkSetsWhatItRuns() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml"));
    auto* editor = window.editor();
    QCOMPARE(editor->frameworkBox()->currentText(), QString("(not named)"));
    editor->frameworkBox()->setCurrentText("llm-foundry-2023");
    auto plan = editor->scenario().plan;
    QVERIFY(plan.framework == trainsim::Framework::llm_foundry_2023);
    QVERIFY(plan.attention == trainsim::Attention::flash1);
    QVERIFY(plan.kernels == trainsim::Kernels::eager);
    // Another framework replaces what the first set; none goes back to the defaults.
    editor->frameworkBox()->setCurrentText("megatron-2021");
    plan = editor->scenario().plan;
    QVERIFY(plan.attention == trainsim::Attention::unfused);
    QVERIFY(plan.kernels == trainsim::Kernels::fused);
    QVERIFY(!plan.overlap_grad_reduce);
    editor->frameworkBox()->setCurrentText("(not named)");
    plan = editor->scenario().plan;
    QVERIFY(!plan.framework);
    QVERIFY(plan.attention == trainsim::Attention::flash);
    QVERIFY(plan.overlap_grad_reduce);
  }

  void savedScenarioReopens() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml"));
    const QString path = QDir::temp().filePath("trainsim-gui-test.yaml");
    QVERIFY(window.saveFile(path));
    MainWindow again;
    QVERIFY(again.openFile(path));
    QCOMPARE(again.editor()->scenario().plan.pp, 16);
    QCOMPARE(again.editor()->scenario().cluster.gpus, 1024);
  }

  void compareShowsEachScenario() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml"));
    QSignalSpy done(&window, &MainWindow::compareFinished);
    // The first file added to an empty comparison brings the editor's plan in ahead of it.
    window.compareFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-single-h200.yaml");
    QVERIFY(done.wait(60000));
    auto* compare = window.compareView();
    QCOMPARE(compare->rows(), 2);
    QVERIFY2(compare->cell(0, 0).startsWith("gpt3-1.3b-32xa100 (tp 2"), qPrintable(compare->cell(0, 0)));
    QCOMPARE(compare->cell(0, 1), QString("32"));
    QCOMPARE(compare->cell(1, 1), QString("1"));
    QVERIFY(compare->cell(0, 3) != compare->cell(1, 3));  // different step times
    QVERIFY(compare->cell(0, 2).startsWith("tp "));
    window.compareCurrent();  // the editor's plan again, on request
    QVERIFY(done.wait(60000));
    QCOMPARE(compare->rows(), 3);
    for (int row = 0; row < 2; ++row) {  // human units: no scientific notation, no bare dollar figures
      for (int column = 3; column < 10; ++column)
        QVERIFY2(!compare->cell(row, column).contains("e+"), qPrintable(compare->cell(row, column)));
    }
  }

  void validationPutsMeasuredNextToPredicted() {
    const QString run = QDir::temp().filePath("trainsim-gui-run.json");
    QFile file(run);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"step_time_s": 0.05, "tokens_per_s": 5000, "mfu": 0.01,
                   "breakdown_s": {"compute": 0.03, "exposed_comm": 0.01, "bubble": 0, "optimizer": 0.001},
                   "model": {"arch": "gpt", "layers": 2, "hidden": 64, "heads": 4, "seq_len": 32, "vocab": 256},
                   "plan": {"dp": 2, "micro_batch": 4, "global_batch": 8}})");
    file.close();
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml"));
    QSignalSpy done(&window, &MainWindow::validationFinished);
    window.loadMeasurement(run);
    QVERIFY(done.wait(60000));
    auto* validation = window.validationView();
    QVERIFY(validation->rows() >= 7);
    // Human labels and units, as `trainsim validate` prints them: no JSON key, no bare seconds.
    QCOMPARE(validation->cell(0, 0), QString("step time"));
    QCOMPARE(validation->cell(0, 2), QString("50 ms"));
    QVERIFY(validation->cell(0, 3).endsWith("%"));
    for (int row = 0; row < validation->rows(); ++row) {
      for (int column = 0; column < 4; ++column) {
        const QString text = validation->cell(row, column);
        QVERIFY2(!text.contains("_") && !text.contains("e+") && !text.contains("e-"), qPrintable(text));
      }
    }
    QVERIFY2(validation->verdict().startsWith("prediction "), qPrintable(validation->verdict()));
    QVERIFY(validation->verdict().contains("than measured"));
    // A file that is not a measurement is an error in the window.
    QVERIFY(!window.validateNow(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml"));
    QVERIFY(window.statusText().contains("JSON"));
  }

  void viewsExportAsSvg() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml"));
    window.showOutcome(window.predictNow());
    window.show();
    // The topology is coloured by the simulated link load: the data-parallel ranks' links carried data.
    QVERIFY(window.topologyView()->busiestLink() > 0);
    QVERIFY(window.topologyView()->busiestLink() <= 1.0 + 1e-6);
    const QString path = QDir::temp().filePath("trainsim-gui-summary.svg");
    QVERIFY(window.exportViewTo(path, window.view("summary")));
    QFile svg(path);
    QVERIFY(svg.open(QIODevice::ReadOnly));
    QVERIFY(svg.readAll().contains("<svg"));
  }

  // The topology drawn by its structure: the spine above the leaves, each leaf above the nodes
  // it serves and between the first and last of them; a colour scale beside it.
  void topologyIsDrawnByItsStructure() {
    TopologyView view;
    const trainsim::Scenario sc = trainsim::load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/default.yaml");
    view.setTopology(sc.cluster.topology, 1024, {{"leaf0-spine", 0.5}});
    const int per_leaf = sc.cluster.topology.nodes_per_leaf;
    QCOMPARE(view.vertices(), 128 + (128 + per_leaf - 1) / per_leaf + 1);  // nodes, leaves, the spine
    const QPointF spine = view.placed("spine"), leaf = view.placed("leaf1");
    QVERIFY(spine.y() < leaf.y());
    double left = 1e300, right = -1e300;
    for (int n = per_leaf; n < 2 * per_leaf; ++n) {
      const QPointF node = view.placed(QString("node %1").arg(n));
      QVERIFY(node.y() > leaf.y());
      left = std::min(left, node.x());
      right = std::max(right, node.x());
    }
    QVERIFY(leaf.x() >= left && leaf.x() <= right);
    // The colour scale is part of the drawing, inside the shown scene.
    QVERIFY(view.colourScale() != nullptr);
    QVERIFY(view.scene()->items().contains(const_cast<QGraphicsItem*>(view.colourScale())));
    QVERIFY(view.sceneRect().contains(view.colourScale()->scenePos()));
    QCOMPARE(view.busiestLink(), 0.5);
  }

  void aPredictionCanBeCancelled() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml"));
    QSignalSpy done(&window, &MainWindow::predictionFinished);
    window.runPrediction();
    window.cancel();
    QVERIFY(window.statusText().contains("Cancelling"));
    QTRY_VERIFY_WITH_TIMEOUT(window.statusText().contains("cancelled"), 120000);
    QCOMPARE(done.count(), 0);  // the cancelled result is not shown
  }

  void modelFromHfConfigAndNetworkKnobs() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml"));
    auto* editor = window.editor();
    QVERIFY(editor->loadHfConfig(QString(TRAINSIM_SOURCE_DIR) + "/tests/data/hf/llama.json"));
    QCOMPARE(editor->scenario().model.arch, trainsim::Arch::llama);
    QVERIFY(!editor->loadHfConfig(QString(TRAINSIM_SOURCE_DIR) + "/tests/data/hf/broken.json"));
    QVERIFY(editor->problems().contains("broken.json"));
    // The NIC knob (Gbit/s) sets the topology's NIC bandwidth (bytes/s) of the scenario.
    editor->nicBandwidthBox()->setValue(100);
    QCOMPARE(editor->scenario().cluster.topology.nic_bandwidth, 100e9 / 8);
    // The clock-spread knob (percent) is cluster.gpu_clock_spread, and a saved file keeps it.
    QCOMPARE(editor->clockSpreadBox()->value(), 1.0);
    editor->clockSpreadBox()->setValue(2.5);
    QCOMPARE(editor->scenario().cluster.clock_spread, 0.025);
    const QString spread_path = QDir::temp().filePath("trainsim-gui-spread.yaml");
    QVERIFY(window.saveFile(spread_path));
    MainWindow reopened;
    QVERIFY(reopened.openFile(spread_path));
    QCOMPARE(reopened.editor()->scenario().cluster.clock_spread, 0.025);
    // The ZeRO group field is the plan's dp_shard; one that does not divide dp is refused.
    const int dp = editor->scenario().plan.dp;
    editor->zeroGroupBox()->setValue(dp / 2);
    QCOMPARE(editor->scenario().plan.dp_shard, dp / 2);
    QVERIFY2(editor->isValid(), qPrintable(editor->problems()));
    editor->zeroGroupBox()->setValue(dp - 1);
    QVERIFY(!editor->isValid());
    QVERIFY(editor->problems().contains("plan.dp_shard"));
    editor->zeroGroupBox()->setValue(0);
    QVERIFY(editor->isValid());
  }

  // A topology and a GPU the scenario gives as files stay its own, not the lists' first presets.
  void aTopologyAndGpuFromFilesAreKept() {
    const QDir dir(QDir::temp().filePath("trainsim-gui-files"));
    QVERIFY(dir.mkpath("."));
    auto write = [&](const QString& name, const QByteArray& text) {
      QFile f(dir.filePath(name));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(text);
    };
    write("tree.yaml",
          "{name: my-tree, gpu: h100-sxm-80gb, gpus_per_node: 8, nodes: 4, node: {latency: 1us}, network: {kind: "
          "fat-tree, nic_bandwidth: 400Gb/s, nic_latency: 2us, switch_latency: 130ns, nodes_per_leaf: 2, "
          "oversubscription: 1}}\n");
    write("fast.yaml", "{preset: h100-sxm-80gb, name: fast-h100, peak: {bf16: 3000TFLOP/s}}\n");
    write("job.yaml",
          "model: {preset: gpt3-1.3b}\ncluster: {topology: tree.yaml, gpus: 32, gpu: fast.yaml}\n"
          "plan: {tp: 2, pp: 2, dp: 8, micro_batch: 2, global_batch: 128, zero: 1}\n");
    MainWindow window;
    QVERIFY(window.openFile(dir.filePath("job.yaml")));
    const auto sc = window.editor()->scenario();
    QCOMPARE(QString::fromStdString(sc.cluster.topology.name), QString("my-tree"));
    QCOMPARE(sc.cluster.topology.nodes, 4);
    QCOMPARE(QString::fromStdString(sc.cluster.topology.gpu.name), QString("fast-h100"));
    QVERIFY(window.editor()->isValid());
    const auto cli = trainsim::load_scenario(dir.filePath("job.yaml").toStdString());
    QCOMPARE(sc.cluster.topology.gpu.peak(trainsim::Precision::bf16),
             cli.cluster.topology.gpu.peak(trainsim::Precision::bf16));
    QCOMPARE(sc.cluster.topology.nic_bandwidth, cli.cluster.topology.nic_bandwidth);
  }

  void theSummaryHeaderNamesScenarioGpusAndPlan() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml"));
    window.showOutcome(window.predictNow());
    const QString header = window.summary()->header();
    QVERIFY2(header.contains("gpt3-1.3b-32xa100"), qPrintable(header));
    const auto gpu = QString::fromStdString(window.editor()->scenario().cluster.topology.gpu.name);
    QVERIFY2(header.contains("32 x " + gpu) && header.contains("A100", Qt::CaseInsensitive), qPrintable(header));
    const auto plan = window.editor()->scenario().plan;
    QVERIFY2(header.contains(QString("tp %1, pp %2, dp %3").arg(plan.tp).arg(plan.pp).arg(plan.dp)),
             qPrintable(header));
    QVERIFY(header.contains("micro-batch") && header.contains("zero") && header.contains("recompute"));
    QVERIFY(window.windowTitle().contains(header));
    // Human units: no scientific notation, no raw seconds for the step.
    const QString text = window.summary()->text();
    QVERIFY2(!text.contains("e+") && !text.contains("e-0"), qPrintable(text));
    QVERIFY(text.contains("Memory per GPU"));
    // The kernels priced, the attention family marked as the GPU's default where the plan left it.
    QVERIFY2(text.contains("attention flash2 (" + gpu + "'s default; plan.attention)"), qPrintable(text));
  }

  void theMemoryChartDrawsUsableCapacityAndReserve() {
    MainWindow window;
    const auto outcome = predicted(window, "gpt3-1.3b-32xa100.yaml");
    QVERIFY(outcome.prediction);
    QChart* chart = window.summary()->memoryChart()->chart();
    QLineSeries* usable = nullptr;
    QLineSeries* capacity = nullptr;
    for (auto* series : chart->series()) {
      if (series->objectName() == "capacityLine") usable = qobject_cast<QLineSeries*>(series);
      if (series->objectName() == "reserveLine") capacity = qobject_cast<QLineSeries*>(series);
    }
    QVERIFY(usable && capacity);
    constexpr double GiB = 1024.0 * 1024 * 1024;
    const auto& memory = outcome.prediction->memory;
    QCOMPARE(usable->count(), 2);
    QVERIFY(std::abs(usable->at(0).x() - memory.usable() / GiB) < 1e-6);
    QVERIFY(std::abs(capacity->at(0).x() - memory.capacity / GiB) < 1e-6);
    QVERIFY(capacity->at(0).x() > usable->at(0).x());  // the reserve lies between them
    QCOMPARE(chart->property("fits").toBool(), memory.fits());
    QVERIFY(chart->title().contains(memory.fits() ? "fits" : "DOES NOT FIT"));
  }

  void aLaunchBoundPlanSaysItIsLikelyOptimistic() {
    MainWindow window;
    auto outcome = predicted(window, "mixed-gpt3-13b.yaml");  // tp 8 at 2048 tokens: short kernels
    QVERIFY(outcome.prediction);
    QVERIFY(outcome.prediction->host_bound_share >= trainsim::kHostBoundWarning);
    QVERIFY2(window.summary()->text().contains("likely optimistic"), qPrintable(window.summary()->text()));
    outcome = predicted(window, "gpt3-1.3b-32xa100.yaml");
    QVERIFY(outcome.prediction);
    QVERIFY(outcome.prediction->host_bound_share < trainsim::kHostBoundWarning);
    QVERIFY(!window.summary()->text().contains("likely optimistic"));
  }

  void aPredictionSaysHowFirmItIs() {
    MainWindow window;
    auto outcome = predicted(window, "gpt3-1.3b-32xa100.yaml");
    QVERIFY(outcome.prediction && outcome.prediction->public_error);
    const QString a100 = window.summary()->text();
    QVERIFY2(a100.contains("Public runs like it") && a100.contains("a100 16-bit runs"), qPrintable(a100));
    outcome = predicted(window, "gpt3-1.3b-single-h200.yaml");  // no 16-bit H200 run is public
    QVERIFY(outcome.prediction && !outcome.prediction->public_error);
    QVERIFY(!window.summary()->text().contains("Public runs like it"));
  }

  void aPlanThatDoesNotFitSaysSo() {
    const QString path = QDir::temp().filePath("trainsim-gui-nofit.yaml");
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(
        "name: nofit\nmodel: {preset: gpt3-1.3b}\ncluster: {topology: single-h200}\n"
        "plan: {micro_batch: 32, global_batch: 32, attention: unfused}\n");
    file.close();
    MainWindow window;
    QVERIFY(window.openFile(path));
    const auto outcome = window.predictNow();
    QVERIFY(outcome.prediction);
    QVERIFY(!outcome.prediction->memory.fits());
    window.showOutcome(outcome);
    QChart* chart = window.summary()->memoryChart()->chart();
    QVERIFY(!chart->property("fits").toBool());
    QVERIFY(chart->title().contains("DOES NOT FIT"));
    QVERIFY(window.summary()->text().contains("DOES NOT FIT"));
  }

  void thePlanSpaceColoursByTpAndShapesByPp() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt3-1.3b-32xa100.yaml"));
    window.showOutcome(window.searchNow());
    auto* plans = static_cast<trainsim::gui::PlansView*>(window.view("plans"));
    QVERIFY(plans->points() > 0);
    std::map<int, QColor> by_tp;
    std::map<int, int> shape_by_pp;
    int scatter = 0;
    for (auto* series : plans->chartView()->chart()->series()) {
      auto* points = qobject_cast<QScatterSeries*>(series);
      if (!points || series->objectName() == "currentPlan") continue;
      ++scatter;
      const QStringList words = series->name().remove(',').split(' ');  // "tp 2 pp 4"
      QCOMPARE(words.size(), 4);
      const int tp = words[1].toInt(), pp = words[3].toInt();
      if (by_tp.count(tp)) QCOMPARE(by_tp[tp], points->color());  // one colour per tp
      by_tp[tp] = points->color();
      if (shape_by_pp.count(pp)) QCOMPARE(shape_by_pp[pp], int(points->markerShape()));
      shape_by_pp[pp] = points->markerShape();
    }
    QVERIFY(scatter > 1);
    QVERIFY(by_tp.size() > 1);
    std::set<QRgb> colours;
    for (const auto& [tp, colour] : by_tp) colours.insert(colour.rgb());
    QCOMPARE(colours.size(), by_tp.size());  // distinct tp, distinct colours
  }

  void theTimelineHasATimeAxisAndSplitsExposedFromHidden() {
    MainWindow window;
    const auto outcome = predicted(window, "gpt3-1.3b-32xa100.yaml");
    QVERIFY(outcome.prediction);
    window.showView("timeline");
    window.show();
    auto* timeline = static_cast<trainsim::gui::TimelineView*>(window.view("timeline"));
    QVERIFY(timeline->rows() > 0);
    const auto ticks = timeline->ticks();
    QVERIFY(ticks.size() >= 3);
    QCOMPARE(ticks.front().second, QString("0"));
    for (std::size_t i = 1; i < ticks.size(); ++i) {
      QVERIFY(ticks[i].first > ticks[i - 1].first);
      QVERIFY2(ticks[i].second.endsWith("ms") || ticks[i].second.endsWith(" s") || ticks[i].second.endsWith("s"),
               qPrintable(ticks[i].second));
    }
    QVERIFY(ticks.back().first <= outcome.prediction->step.step_time * (1 + 1e-9));
    QVERIFY(timeline->overlappedComm() + timeline->exposedComm() > 0);
    // Zoom to one micro-batch: the shown range covers exactly its ops (a 2% margin), a part of
    // the step; the ticks follow; zooming out shows the whole step again.
    const double step = outcome.prediction->step.step_time;
    QVERIFY(timeline->microBatches() > 2);
    QVERIFY(timeline->zoomToMicroBatch(1));
    const auto [from, to] = timeline->shownRange();
    QVERIFY(to - from < 0.9 * step);
    double first = 1e300, last = 0;
    for (const auto& e : outcome.prediction->step.trace) {
      if (!e.name.ends_with(" mb1")) continue;
      first = std::min(first, e.start);
      last = std::max(last, e.end);
    }
    QVERIFY(from <= first && to >= last);
    QVERIFY(to - from <= 1.05 * (last - first));
    QVERIFY(timeline->ticks().front().first >= from);
    QVERIFY(!timeline->zoomToMicroBatch(timeline->microBatches() + 5));  // no such micro-batch
    timeline->zoomOut();
    QCOMPARE(timeline->shownRange().second, step);
  }

  void theWholeWindowScreenshotShowsTheEditor() {
    MainWindow window;
    QVERIFY(window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml"));
    window.showOutcome(window.predictNow());
    window.showView("window");
    window.show();
    QCOMPARE(window.view("window"), static_cast<QWidget*>(&window));
    const QString path = QDir::temp().filePath("trainsim-gui-window.png");
    QVERIFY(window.exportViewTo(path, window.view("window")));
    QImage image(path);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), window.size() * image.devicePixelRatio());
    // Larger than the summary alone: the editor is in it.
    QVERIFY(image.width() > window.summary()->width() + 100);
  }

  void aBrokenFileIsAnErrorInTheWindow() {
    MainWindow window;
    QVERIFY(!window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/tests/data/bad/scenario.yaml"));
    QVERIFY(window.statusText().contains("plan.micro_batch"));
  }
};

QTEST_MAIN(GuiTest)
#include "gui_test.moc"
