"""What `socialpulse.ai.train` and `socialpulse.ai.evaluate` share: the data sets
(`datasets`), the scores (`metrics`), the model fitting and cross-validation (`fit`) and the
model card (`model_card`). scikit-learn is needed by `fit` only."""
