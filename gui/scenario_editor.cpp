#include "scenario_editor.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "scenario/parse.hpp"

namespace trainsim::gui {

namespace {
QComboBox* combo(const std::vector<std::string>& items) {
  auto* box = new QComboBox;
  for (const auto& item : items) box->addItem(QString::fromStdString(item));
  return box;
}
}  // namespace

QSpinBox* ScenarioEditor::spin(int minimum, int maximum) {
  auto* box = new QSpinBox;
  box->setRange(minimum, maximum);
  connect(box, &QSpinBox::valueChanged, this, [this] { revalidate(); });
  return box;
}

ScenarioEditor::ScenarioEditor(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);

  auto* model_box = new QGroupBox(tr("Model"));
  auto* model_form = new QFormLayout(model_box);
  std::vector<std::string> presets = {"(custom)"};
  for (const auto& n : model_preset_names()) presets.push_back(n);
  model_preset_ = combo(presets);
  arch_ = combo({"gpt", "llama", "bert"});
  layers_ = spin(1, 4096);
  hidden_ = spin(1, 1 << 20);
  heads_ = spin(1, 65536);
  kv_heads_ = spin(1, 65536);
  ffn_ = spin(1, 1 << 22);
  vocab_ = spin(1, 16'000'000);
  seq_ = spin(1, 16'000'000);
  model_form->addRow(tr("Preset"), model_preset_);
  auto* hf = new QPushButton(tr("From config.json..."));
  connect(hf, &QPushButton::clicked, this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Hugging Face config.json"), QString(), tr("config.json (*.json)"));
    if (!path.isEmpty()) loadHfConfig(path);
  });
  model_form->addRow(QString(), hf);
  model_form->addRow(tr("Architecture"), arch_);
  model_form->addRow(tr("Layers"), layers_);
  model_form->addRow(tr("Hidden"), hidden_);
  model_form->addRow(tr("Heads"), heads_);
  model_form->addRow(tr("KV heads"), kv_heads_);
  model_form->addRow(tr("FFN hidden"), ffn_);
  model_form->addRow(tr("Vocabulary"), vocab_);
  model_form->addRow(tr("Sequence length"), seq_);
  layout->addWidget(model_box);

  auto* cluster_box = new QGroupBox(tr("Cluster"));
  auto* cluster_form = new QFormLayout(cluster_box);
  topology_ = combo(topology_preset_names());
  gpu_ = combo(gpu_preset_names());
  gpus_ = spin(1, 262144);
  cluster_form->addRow(tr("Topology"), topology_);
  cluster_form->addRow(tr("GPU"), gpu_);
  cluster_form->addRow(tr("GPUs"), gpus_);
  // Network knobs over the topology preset: NIC speed, NIC latency, leaf oversubscription.
  auto real = [](double minimum, double maximum, int decimals, const QString& suffix) {
    auto* box = new QDoubleSpinBox;
    box->setRange(minimum, maximum);
    box->setDecimals(decimals);
    box->setSuffix(suffix);
    return box;
  };
  nic_gbps_ = real(0, 100000, 0, " Gbit/s");
  nic_latency_us_ = real(0, 1000, 2, " us");
  oversubscription_ = real(1, 64, 2, " : 1");
  cluster_form->addRow(tr("NIC bandwidth"), nic_gbps_);
  cluster_form->addRow(tr("NIC latency"), nic_latency_us_);
  cluster_form->addRow(tr("Oversubscription"), oversubscription_);
  // How the GPUs' sustained clocks spread: the step runs at its slowest GPU's (cluster.gpu_clock_spread).
  clock_spread_ = real(0, 20, 3, " %");
  cluster_form->addRow(tr("GPU clock spread"), clock_spread_);
  layout->addWidget(cluster_box);

  auto* plan_box = new QGroupBox(tr("Plan"));
  auto* plan_form = new QFormLayout(plan_box);
  tp_ = spin(1, 4096);
  pp_ = spin(1, 4096);
  dp_ = spin(1, 262144);
  cp_ = spin(1, 4096);
  ep_ = spin(1, 4096);
  micro_ = spin(1, 1 << 20);
  global_batch_ = new QLineEdit;
  schedule_ = combo({"gpipe", "1f1b", "interleaved"});
  virtual_ = spin(1, 1024);
  sequence_parallel_ = new QCheckBox(tr("sequence parallel"));
  zero_bubble_ = new QCheckBox(tr("zero bubble"));
  zero_bubble_->setToolTip(
      tr("Split each backward into input- and weight-gradient passes and defer the weight passes into the "
         "pipeline's idle time (ZB-H1; PyTorch's ScheduleInterleavedZeroBubble). 1F1B or interleaved."));
  zero_ = spin(0, 3);
  dp_shard_ = spin(0, 262144);
  dp_shard_->setSpecialValueText(tr("all of DP"));
  dp_shard_->setToolTip(
      tr("Hybrid sharding (HSDP): ZeRO shards over groups of this many data-parallel ranks and "
         "replicates across the groups; 0 shards over all of them"));
  recompute_ = combo({"none", "selective", "op", "save_qkv_proj", "full"});
  recompute_fraction_ = real(0, 1, 6, QString());
  recompute_fraction_->setSingleStep(0.25);
  recompute_fraction_->setToolTip(
      tr("With recompute full: the share of layers checkpointed (the others keep "
         "their activations)"));
  offload_ = spin(0, 4095);
  offload_->setToolTip(
      tr("Activation offloading (Megatron-Core's --cpu-offloading-num-layers): the first N layers keep "
         "their activations in host memory; needs PP 1 and no recomputation"));
  precision_ = combo({"fp32", "tf32", "bf16", "fp16", "fp8"});
  std::vector<std::string> frameworks = {"(not named)"};
  for (const auto& n : framework_names()) frameworks.push_back(n);
  framework_ = combo(frameworks);
  framework_->setToolTip(
      tr("The software that runs the plan (plan.framework): choosing one sets the kernels, loss, gradient "
         "precision and ZeRO-3 and FP8 details it runs, except those the file states (docs/scenario-format.md, "
         "\"Naming your framework\")"));
  plan_form->addRow(tr("TP"), tp_);
  plan_form->addRow(tr("PP"), pp_);
  plan_form->addRow(tr("DP"), dp_);
  plan_form->addRow(tr("CP"), cp_);
  plan_form->addRow(tr("EP"), ep_);
  plan_form->addRow(tr("Micro-batch"), micro_);
  plan_form->addRow(tr("Global batch"), global_batch_);
  plan_form->addRow(tr("Schedule"), schedule_);
  plan_form->addRow(tr("Virtual stages"), virtual_);
  plan_form->addRow(QString(), zero_bubble_);
  plan_form->addRow(QString(), sequence_parallel_);
  plan_form->addRow(tr("ZeRO"), zero_);
  plan_form->addRow(tr("ZeRO group (DP ranks)"), dp_shard_);
  plan_form->addRow(tr("Recompute"), recompute_);
  plan_form->addRow(tr("Layers recomputed"), recompute_fraction_);
  plan_form->addRow(tr("Layers offloaded"), offload_);
  plan_form->addRow(tr("Precision"), precision_);
  plan_form->addRow(tr("Framework"), framework_);
  layout->addWidget(plan_box);

  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setObjectName("validation");
  layout->addWidget(status_);
  layout->addStretch();

  for (QComboBox* box : {arch_, topology_, gpu_, schedule_, recompute_, precision_, framework_}) {
    connect(box, &QComboBox::currentTextChanged, this, [this] { revalidate(); });
  }
  connect(model_preset_, &QComboBox::currentTextChanged, this, &ScenarioEditor::loadModelPreset);
  for (QDoubleSpinBox* box : {nic_gbps_, nic_latency_us_, oversubscription_, clock_spread_, recompute_fraction_}) {
    connect(box, &QDoubleSpinBox::valueChanged, this, [this] { revalidate(); });
  }
  // A new topology brings its own network values.
  connect(topology_, &QComboBox::currentTextChanged, this, [this](const QString& name) {
    if (updating_) return;
    try {
      const std::string chosen = name.toStdString();
      showNetwork(chosen == base_.cluster.topology.name ? base_.cluster.topology : load_topology(chosen));
    } catch (const std::exception&) {
    }
  });
  connect(global_batch_, &QLineEdit::textChanged, this, [this] { revalidate(); });
  connect(sequence_parallel_, &QCheckBox::toggled, this, [this] { revalidate(); });
  connect(zero_bubble_, &QCheckBox::toggled, this, [this] { revalidate(); });
}

void ScenarioEditor::loadModelPreset(const QString& name) {
  if (updating_ || name == "(custom)") return;
  Scenario sc = scenario();
  sc.model = model_preset(name.toStdString());
  setScenario(sc);
}

void ScenarioEditor::showNetwork(const TopologySpec& t) {
  const bool was = updating_;
  updating_ = true;
  nic_gbps_->setValue(t.nic_bandwidth * 8 / 1e9);
  nic_latency_us_->setValue(t.nic_latency * 1e6);
  oversubscription_->setValue(t.oversubscription);
  updating_ = was;
}

bool ScenarioEditor::loadHfConfig(const QString& path) {
  QFile file(path);
  try {
    if (!file.open(QIODevice::ReadOnly)) throw InputError({path.toStdString(), 0, 0}, "", "cannot open");
    Scenario sc = scenario();
    sc.model = parse_hf_config(file.readAll().toStdString(), path.toStdString());
    setScenario(sc);
    return true;
  } catch (const InputError& e) {
    status_->setText(tr("config.json: %1").arg(QString::fromStdString(e.what())));
    status_->setStyleSheet("color: #b00020");
    return false;
  }
}

void ScenarioEditor::setScenario(const Scenario& sc) {
  updating_ = true;
  base_ = sc;
  const auto& m = sc.model;
  const int preset = model_preset_->findText(QString::fromStdString(m.name));
  model_preset_->setCurrentIndex(preset >= 0 ? preset : 0);
  arch_->setCurrentText(arch_name(m.arch));
  layers_->setValue(m.layers);
  hidden_->setValue(m.hidden);
  heads_->setValue(m.heads);
  kv_heads_->setValue(m.kv_heads);
  ffn_->setValue(m.ffn_hidden);
  vocab_->setValue(m.vocab);
  seq_->setValue(m.seq_len);
  // A topology or GPU the scenario describes itself (a file, a map) joins its list under its own
  // name, and scenario() keeps its description while it is chosen.
  for (const auto& [box, name] :
       {std::pair{topology_, sc.cluster.topology.name}, {gpu_, sc.cluster.topology.gpu.name}}) {
    const QString text = QString::fromStdString(name);
    if (box->findText(text) < 0) box->addItem(text);
    box->setCurrentText(text);
  }
  gpus_->setValue(sc.cluster.gpus);
  showNetwork(sc.cluster.topology);
  clock_spread_->setValue(100 * sc.cluster.clock_spread);
  updating_ = false;
  setPlan(sc.plan);
}

void ScenarioEditor::setPlan(const PlanSpec& p) {
  updating_ = true;
  tp_->setValue(p.tp);
  pp_->setValue(p.pp);
  dp_->setValue(p.dp);
  cp_->setValue(p.cp);
  ep_->setValue(p.ep);
  micro_->setValue(p.micro_batch);
  global_batch_->setText(QString::number(p.global_batch));
  schedule_->setCurrentText(schedule_name(p.schedule));
  virtual_->setValue(p.virtual_stages);
  zero_bubble_->setChecked(p.zero_bubble);
  sequence_parallel_->setChecked(p.sequence_parallel);
  zero_->setValue(p.zero);
  dp_shard_->setValue(p.dp_shard);
  recompute_->setCurrentText(recompute_name(p.recompute));
  recompute_fraction_->setValue(p.recompute_fraction);
  offload_->setValue(p.activation_offload_layers);
  precision_->setCurrentText(precision_name(p.precision));
  framework_->setCurrentText(p.framework ? framework_name(*p.framework) : "(not named)");
  base_.plan.placement = p.placement;
  updating_ = false;
  revalidate();
}

Scenario ScenarioEditor::scenario() const {
  Scenario sc = base_;
  auto& m = sc.model;
  const QString arch = arch_->currentText();
  m.arch = arch == "gpt" ? Arch::gpt : arch == "llama" ? Arch::llama : Arch::bert;
  m.layers = layers_->value();
  m.hidden = hidden_->value();
  m.heads = heads_->value();
  m.kv_heads = kv_heads_->value();
  m.ffn_hidden = ffn_->value();
  m.vocab = vocab_->value();
  m.seq_len = seq_->value();
  if (model_preset_->currentIndex() == 0) m.name = "custom";
  const std::string topology = topology_->currentText().toStdString();
  if (topology != sc.cluster.topology.name) sc.cluster.topology = load_topology(topology);
  const std::string gpu = gpu_->currentText().toStdString();
  if (gpu == base_.cluster.topology.gpu.name && topology == base_.cluster.topology.name) {
    sc.cluster.topology.gpu = base_.cluster.topology.gpu;  // the scenario's own, perhaps not a preset
  } else if (gpu != sc.cluster.topology.gpu.name) {
    // On another topology the scenario's own GPU (its caps and overrides were its system's) gives
    // way to the preset of its name; one that is no preset stays as described.
    sc.cluster.topology.gpu = has_gpu_preset(gpu) ? gpu_preset(gpu) : base_.cluster.topology.gpu;
  }
  sc.cluster.gpus = gpus_->value();
  sc.cluster.topology.nic_bandwidth = nic_gbps_->value() * 1e9 / 8;
  sc.cluster.topology.nic_latency = nic_latency_us_->value() * 1e-6;
  sc.cluster.topology.oversubscription = oversubscription_->value();
  sc.cluster.clock_spread = clock_spread_->value() / 100;
  auto& p = sc.plan;
  p.tp = tp_->value();
  p.pp = pp_->value();
  p.dp = dp_->value();
  p.cp = cp_->value();
  p.ep = ep_->value();
  p.micro_batch = micro_->value();
  p.global_batch = global_batch_->text().toLongLong();
  const QString schedule = schedule_->currentText();
  p.schedule = schedule == "gpipe"  ? Schedule::gpipe
               : schedule == "1f1b" ? Schedule::one_f_one_b
                                    : Schedule::interleaved;
  p.virtual_stages = virtual_->value();
  p.zero_bubble = zero_bubble_->isChecked();
  p.sequence_parallel = sequence_parallel_->isChecked();
  p.zero = zero_->value();
  p.dp_shard = dp_shard_->value();
  const std::string recompute = recompute_->currentText().toStdString();
  for (const Recompute candidate :
       {Recompute::none, Recompute::selective, Recompute::op, Recompute::qkv, Recompute::full}) {
    if (recompute == recompute_name(candidate)) p.recompute = candidate;
  }
  p.recompute_fraction = recompute_fraction_->value();
  p.activation_offload_layers = offload_->value();
  const std::string precision = precision_->currentText().toStdString();
  for (const Precision candidate :
       {Precision::fp32, Precision::tf32, Precision::bf16, Precision::fp16, Precision::fp8}) {
    if (precision == precision_name(candidate)) p.precision = candidate;
  }
  // The framework chosen here sets what it runs for the plan as the form has it (its tp, zero,
  // precision and GPU), as naming it in the file would, the file's own fields kept; another one
  // replaces what the loaded one set, and "(not named)" goes back to the defaults.
  const auto chosen = parse_framework(framework_->currentText().toStdString());
  if (chosen || base_.plan.framework) {
    clear_framework_fields(p);
    p.framework = chosen;
    if (chosen) apply_framework(p, *chosen, sc.cluster.topology.gpu);
  }
  return sc;
}

QString ScenarioEditor::problems() const { return status_->text(); }

void ScenarioEditor::revalidate() {
  if (updating_) return;
  QStringList errors, warnings;
  const Scenario sc = scenario();
  if (sc.plan.global_batch < 1) errors << tr("plan.global_batch: expected a positive number of sequences");
  if (sc.model.hidden % sc.model.heads != 0) errors << tr("model.heads: hidden must be divisible by heads");
  if (sc.model.heads % sc.model.kv_heads != 0) errors << tr("model.kv_heads: heads must be divisible by kv_heads");
  if (errors.isEmpty()) {
    for (const auto& f : check_plan(sc.model, sc.cluster, sc.plan)) {
      const QString text = QString::fromStdString(f.key + ": " + f.message);
      (f.severity == Finding::Severity::error ? errors : warnings) << text;
    }
  }
  valid_ = errors.isEmpty();
  QString html;
  for (const auto& e : errors) html += "<p style='color:#b00020'>&#10007; " + e.toHtmlEscaped() + "</p>";
  for (const auto& w : warnings) html += "<p style='color:#8a6d00'>&#9888; " + w.toHtmlEscaped() + "</p>";
  if (valid_ && warnings.isEmpty()) html = "<p style='color:#1b7f3b'>&#10003; " + tr("plan is valid") + "</p>";
  status_->setText(html);
  emit changed();
}

}  // namespace trainsim::gui
