"""Reporting for supervisors: statistics, periods, the case log, exports and routing evaluation.

Keep this file free of imports.
"""
