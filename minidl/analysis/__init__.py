"""Analyses that explain training: gradient checks, gradient flow, Jacobian spectra, shattered gradients,
lesions and path lengths, loss landscapes, DenseNet feature reuse and highway gate activity; and the 95%
confidence intervals that turn a few seeds of any of them into a verdict.

Each tool takes any Module plus a selector saying which sub-modules count as layers, blocks or gates, and
returns plain data (dataclasses of NumPy arrays), which the lessons tabulate and draw.
"""
from .confidence import Interval, mean_interval, paired_interval, proportion_interval, t_critical
from .feature_reuse import FeatureReuse, feature_reuse
from .gates import GateStats, gate_statistics, is_gate
from .gradcheck import GradcheckError, check_gradients, gradcheck
from .gradient_flow import FlowStats, GradientFlowRecorder, gradient_flow
from .jacobian import JacobianSpectrum, jacobian, jacobian_spectrum
from .landscape import Slice1D, Surface2D, loss_slice_1d, loss_surface_2d, random_direction
from .lesion import LesionResult, LesionShapeError, has_skip, lesion_study, lesioned, random_lesions, skip_output
from .paths import EffectivePaths, PathLengths, effective_path_gradients, path_lengths
from .shattered import (ShatterTable, autocorrelation, input_gradients, line_inputs, shattered_mlp,
                        shattering_table)

__all__ = [
    "gradcheck", "check_gradients", "GradcheckError",
    "gradient_flow", "GradientFlowRecorder", "FlowStats",
    "jacobian", "jacobian_spectrum", "JacobianSpectrum",
    "shattered_mlp", "input_gradients", "autocorrelation", "shattering_table", "line_inputs", "ShatterTable",
    "lesion_study", "lesioned", "skip_output", "has_skip", "random_lesions", "LesionResult", "LesionShapeError",
    "path_lengths", "PathLengths", "effective_path_gradients", "EffectivePaths",
    "random_direction", "loss_slice_1d", "loss_surface_2d", "Slice1D", "Surface2D",
    "feature_reuse", "FeatureReuse",
    "gate_statistics", "is_gate", "GateStats",
    "mean_interval", "paired_interval", "proportion_interval", "t_critical", "Interval",
]
