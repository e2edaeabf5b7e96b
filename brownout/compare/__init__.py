"""`brownout compare` and `brownout calibrate`: regressions between result sets, and tolerances from same-build runs."""
