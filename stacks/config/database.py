"""Aurora MySQL: engine, instances, credentials, backups and windows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.validate import _int_in, _one_of, _require

_ENGINE_VERSION_RE = re.compile(r"^8\.0\.mysql_aurora\.3\.\d{2}\.\d+$")
#: Provisioned Aurora MySQL classes that support Performance Insights (always on here):
#: no db.t3, and db.t4g only from medium up.
_INSTANCE_CLASS_RE = re.compile(r"^db\.(t4g\.(medium|large)|(r5|r6g|r6gd|r6i|r6id|r7g|r7i|r8g|x2g|x2iedn)\.[a-z0-9]+)$")
_MYSQL_IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DAILY_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY_WINDOW_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_WEEK_MINUTES = 7 * _DAY_MINUTES
#: Enhanced monitoring intervals RDS accepts (0, which turns it off, is not offered).
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
#: Performance Insights retention RDS accepts: 7 days (free tier) or whole months (31-day steps) up to 731.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *range(31, 731, 31), 731)
#: Usernames Aurora MySQL reserves.
_RESERVED_DB_USERS = ("rdsadmin", "rdsrepladmin", "rdsproxyadmin", "mysql.sys", "root")


def _daily_window(field_name: str, value: str) -> tuple[int, int]:
    """``hh24:mi-hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the day."""
    m = _DAILY_WINDOW_RE.match(value or "")
    _require(m is not None, field_name, value, "hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00")
    assert m is not None
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    _require((end - start) % _DAY_MINUTES >= 30, field_name, value, "a window of at least 30 minutes")
    return start, end


def _weekly_window(field_name: str, value: str) -> tuple[int, int]:
    """``ddd:hh24:mi-ddd:hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the week."""
    m = _WEEKLY_WINDOW_RE.match(value or "")
    _require(m is not None, field_name, value, "ddd:hh24:mi-ddd:hh24:mi in UTC with ddd one of mon..sun, e.g. sun:04:30-sun:05:30")
    assert m is not None
    start = _WEEKDAYS.index(m[1]) * _DAY_MINUTES + int(m[2]) * 60 + int(m[3])
    end = _WEEKDAYS.index(m[4]) * _DAY_MINUTES + int(m[5]) * 60 + int(m[6])
    _require((end - start) % _WEEK_MINUTES >= 30, field_name, value, "a window of at least 30 minutes")
    return start, end


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """A window [start, end) on a circle of ``period`` minutes, as plain intervals."""
    return [(start, end)] if start < end else [(start, period), (0, end)]


def _windows_overlap(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day."""
    start, end = daily
    duration = (end - start) % _DAY_MINUTES
    backup = [
        interval
        for day in range(7)
        for interval in _intervals(day * _DAY_MINUTES + start, (day * _DAY_MINUTES + start + duration) % _WEEK_MINUTES, _WEEK_MINUTES)
    ]
    maintenance = _intervals(*weekly, _WEEK_MINUTES)
    return any(a < d and c < b for a, b in backup for c, d in maintenance)


@dataclass(frozen=True)
class DatabaseConfig:
    """Aurora MySQL (see the database component for the full use)."""

    #: Aurora MySQL 3 (MySQL 8.0-compatible) engine version the cluster is created
    #: with, ``8.0.mysql_aurora.3.NN.N``.  Default ``8.0.mysql_aurora.3.08.2``.
    engine_version: str = "8.0.mysql_aurora.3.08.2"
    #: Instance class of the writer and the readers (Graviton or Intel; not serverless).
    #: Default ``db.t4g.medium`` (dev size); prod uses ``db.r6g.large``.
    instance_class: str = "db.t4g.medium"
    #: Readers Terraform manages, each in another AZ than the writer (round robin). 1-14.  Default 1.
    reader_count: int = 1
    #: Aurora Auto Scaling of readers on their average CPU.  Default off (prod: on).
    reader_auto_scaling: bool = False
    #: Most readers auto scaling may run in total (``reader_count`` .. 15).  Default 3.
    max_readers: int = 3
    #: Average reader CPU auto scaling keeps, percent (20-90).  Default 70.
    reader_cpu_target_percent: int = 70
    #: Schema created with the cluster (MySQL identifier, at most 64 characters).  Default ``orders``.
    database_name: str = "orders"
    #: Master user name (1-16 characters, not reserved by RDS).  Default ``orders_admin``.
    master_username: str = "orders_admin"
    #: Days between rotations of the RDS-managed master secret (1-365).  Default 7 (RDS's own default).
    secret_rotation_days: int = 7
    #: Days of automated backups (AWS allows 1-35).
    backup_retention_days: int = 7
    #: Daily automated backup window, UTC ``hh24:mi-hh24:mi``, at least 30 minutes.  Default ``03:00-04:00``.
    backup_window: str = "03:00-04:00"
    #: Weekly maintenance window, UTC ``ddd:hh24:mi-ddd:hh24:mi``, at least 30 minutes and
    #: not overlapping the backup window.  Default ``sun:04:30-sun:05:30``.
    maintenance_window: str = "sun:04:30-sun:05:30"
    #: Write the general query log (every statement; exported to CloudWatch Logs).
    #: Default off: the audit log already records connections, DDL and grants.
    general_log: bool = False
    #: Backtrack window in hours (0-72; 0 = off).  Default 0.
    backtrack_window_hours: int = 0
    #: Enhanced monitoring interval, seconds (1, 5, 10, 15, 30 or 60).  Default 60.
    monitoring_interval_seconds: int = 60
    #: Performance Insights retention, days (7, or a multiple of 31 up to 731).  Default 7 (free tier).
    performance_insights_retention_days: int = 7
    #: Refuse ``terraform destroy`` of the cluster.  Must stay on in prod.
    deletion_protection: bool = False
    #: Delete without a final snapshot (``<name_prefix>-final``).  Refused in prod.  Default off.
    skip_final_snapshot: bool = False
    #: An AWS Backup plan (daily, vault encrypted with the database key) on top of RDS's
    #: automated backups.  Default off (prod: on).
    aws_backup: bool = False
    #: Days AWS Backup keeps each daily recovery point (1-3650).  Default 35.
    aws_backup_retention_days: int = 35

    def __post_init__(self) -> None:
        _require(
            bool(_ENGINE_VERSION_RE.match(self.engine_version or "")),
            "database.engine_version",
            self.engine_version,
            "an Aurora MySQL 3 version such as 8.0.mysql_aurora.3.08.2",
        )
        _require(
            bool(_INSTANCE_CLASS_RE.match(self.instance_class or "")),
            "database.instance_class",
            self.instance_class,
            "a provisioned Aurora MySQL class that supports Performance Insights (db.t4g.medium/large, db.r5/r6g/r7g/... sizes)",
        )
        _int_in("database.reader_count", self.reader_count, 1, 14)
        _int_in("database.max_readers", self.max_readers, self.reader_count, 15)
        _int_in("database.reader_cpu_target_percent", self.reader_cpu_target_percent, 20, 90)
        _require(
            bool(_MYSQL_IDENTIFIER_RE.match(self.database_name or "")) and len(self.database_name) <= 64,
            "database.database_name",
            self.database_name,
            "1-64 letters, digits or '_', starting with a letter",
        )
        _require(
            bool(_MYSQL_IDENTIFIER_RE.match(self.master_username or ""))
            and len(self.master_username) <= 16
            and self.master_username.lower() not in _RESERVED_DB_USERS,
            "database.master_username",
            self.master_username,
            "1-16 letters, digits or '_', starting with a letter, not one of " + ", ".join(_RESERVED_DB_USERS),
        )
        _int_in("database.secret_rotation_days", self.secret_rotation_days, 1, 365)
        _int_in("database.backup_retention_days", self.backup_retention_days, 1, 35)
        backup = _daily_window("database.backup_window", self.backup_window)
        maintenance = _weekly_window("database.maintenance_window", self.maintenance_window)
        _require(
            not _windows_overlap(backup, maintenance),
            "database.maintenance_window",
            self.maintenance_window,
            f"a window that does not overlap the daily backup window {self.backup_window}",
        )
        _int_in("database.backtrack_window_hours", self.backtrack_window_hours, 0, 72)
        _one_of("database.monitoring_interval_seconds", self.monitoring_interval_seconds, MONITORING_INTERVALS)
        _require(
            self.performance_insights_retention_days in PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            "database.performance_insights_retention_days",
            self.performance_insights_retention_days,
            "7, or a multiple of 31 up to 731",
        )
        _int_in("database.aws_backup_retention_days", self.aws_backup_retention_days, 1, 3650)
