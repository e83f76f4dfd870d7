// Qt Test, under QT_QPA_PLATFORM=offscreen: drive the editor as a person would.
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

#include "main_window.hpp"
#include "scenario_editor.hpp"
#include "summary_view.hpp"

using trainsim::gui::MainWindow;

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

  void aBrokenFileIsAnErrorInTheWindow() {
    MainWindow window;
    QVERIFY(!window.openFile(QString(TRAINSIM_SOURCE_DIR) + "/tests/data/bad/scenario.yaml"));
    QVERIFY(window.statusText().contains("plan.micro_batch"));
  }
};

QTEST_MAIN(GuiTest)
#include "gui_test.moc"
