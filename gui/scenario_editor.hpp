#pragma once
// The left pane: model, cluster and plan of a scenario as form fields. Invalid combinations are
// shown as you type, with check_plan()'s reason, and make isValid() false.
#include <QWidget>

#include "scenario/scenario.hpp"

class QComboBox;
class QSpinBox;
class QCheckBox;
class QLabel;
class QLineEdit;
class QDoubleSpinBox;

namespace trainsim::gui {

class ScenarioEditor : public QWidget {
  Q_OBJECT
 public:
  explicit ScenarioEditor(QWidget* parent = nullptr);
  void setScenario(const Scenario& scenario);
  // The scenario the fields describe (valid or not; see isValid()).
  Scenario scenario() const;
  bool isValid() const { return valid_; }
  QString problems() const;
  // For tests and the plan-space view: set one plan field.
  void setPlan(const PlanSpec& plan);
  QSpinBox* tpBox() const { return tp_; }
  QComboBox* frameworkBox() const { return framework_; }
  QSpinBox* zeroGroupBox() const { return dp_shard_; }
  // Model fields from a Hugging Face config.json; false (reason in problems()) when unreadable.
  bool loadHfConfig(const QString& path);
  QDoubleSpinBox* nicBandwidthBox() const { return nic_gbps_; }
  QDoubleSpinBox* clockSpreadBox() const { return clock_spread_; }  // percent

 signals:
  void changed();

 private:
  void revalidate();
  void loadModelPreset(const QString& name);
  void showNetwork(const TopologySpec& topology);
  QSpinBox* spin(int minimum, int maximum);

  Scenario base_;
  bool valid_ = false;
  bool updating_ = false;
  QComboBox *model_preset_, *arch_, *topology_, *gpu_, *schedule_, *recompute_, *precision_, *framework_;
  QSpinBox *layers_, *hidden_, *heads_, *kv_heads_, *ffn_, *vocab_, *seq_;
  QSpinBox *gpus_, *tp_, *pp_, *dp_, *cp_, *ep_, *micro_, *virtual_, *zero_;
  QSpinBox* dp_shard_;  // hybrid sharding: data-parallel ranks of a ZeRO group, 0 for all
  QSpinBox* offload_;   // layers whose activations wait in host memory (activation_offload_layers)
  QLineEdit* global_batch_;
  QDoubleSpinBox *nic_gbps_, *nic_latency_us_, *oversubscription_, *clock_spread_;
  QDoubleSpinBox* recompute_fraction_;  // with recompute full: the share of layers checkpointed
  QCheckBox* sequence_parallel_;
  QCheckBox* zero_bubble_;  // plan.zero_bubble
  QLabel* status_;
};

}  // namespace trainsim::gui
