# Sourced by scripts/run.sh: keeps the `make run` console readable. Each default can be
# overridden from the environment (for example TF_CPP_MIN_LOG_LEVEL=0 to see TensorFlow's notes).
# TensorFlow's C++ notes and warnings (oneDNN, CUDA, TensorRT, type inference) are noise here:
# level 2 keeps its errors only.
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# Deprecation warnings of Rasa 3.6's pinned libraries (SQLAlchemy 1.4, pkg_resources, sanic_cors,
# pyparsing) say nothing an operator can act on.
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::DeprecationWarning,ignore::PendingDeprecationWarning}
# SQLAlchemy 1.4's one "MovedIn20Warning" about Rasa's tracker store.
export SQLALCHEMY_SILENCE_UBER_WARNING=${SQLALCHEMY_SILENCE_UBER_WARNING:-1}
