"""Aurora MySQL: engine, instances, credentials, backups and windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stacks.config.validate import _int_in, _one_of, _require

#: ``8.0`` (the major version: AWS picks its default minor, and auto minor upgrades move
#: it on without a plan ever asking to go back) or a full ``8.0.mysql_aurora.3.NN.N``.
_ENGINE_VERSION_RE = re.compile(r"8\.0(\.mysql_aurora\.3\.([0-9]{2})\.[0-9]+)?")
#: Aurora MySQL classes that support Performance Insights (always on here): Serverless v2
#: (``db.serverless``), no db.t3, db.t4g only from medium up.
_INSTANCE_CLASS_RE = re.compile(r"db\.(serverless|t4g\.(medium|large)|(r5|r6g|r6gd|r6i|r6id|r7g|r7i|r8g|x2g|x2iedn)\.[a-z0-9]+)")
#: The RDS Data API runs on Aurora MySQL 3.07 and later, and not on T instance classes.
DATA_API_MIN_MINOR = 7
#: Privileges the application user may hold on its schema (never ALL or GRANT OPTION,
#: never on ``*.*``: the grants are always ``ON `<database_name>`.*``).
APP_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "CREATE TEMPORARY TABLES", "LOCK TABLES", "SHOW VIEW")
#: What the optional migration user holds on the schema: DDL and DML, nothing global.
MIGRATION_PRIVILEGES = ("ALTER", "CREATE", "CREATE VIEW", "DELETE", "DROP", "INDEX", "INSERT", "REFERENCES", "SELECT", "SHOW VIEW", "TRIGGER", "UPDATE")
_MYSQL_IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DAILY_WINDOW_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")
_WEEKLY_WINDOW_RE = re.compile(r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_WEEK_MINUTES = 7 * _DAY_MINUTES
#: Enhanced monitoring intervals RDS accepts (0, which turns it off, is not offered).
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
#: Performance Insights retention RDS accepts: 7 days (free tier) or whole months (31-day steps) up to 731.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *range(31, 731, 31), 731)
#: CloudWatch Database Insights modes; ``advanced`` needs 15 months of Performance Insights data.
DATABASE_INSIGHTS_MODES = ("standard", "advanced")
ADVANCED_INSIGHTS_RETENTION_DAYS = 465
#: Usernames Aurora MySQL reserves.
_RESERVED_DB_USERS = ("rdsadmin", "rdsrepladmin", "rdsproxyadmin", "mysql.sys", "root")


def _daily_window(field_name: str, value: str) -> tuple[int, int]:
    """``hh24:mi-hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the day."""
    m = _DAILY_WINDOW_RE.fullmatch(value or "")
    _require(m is not None, field_name, value, "hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00")
    assert m is not None
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    _require((end - start) % _DAY_MINUTES >= 30, field_name, value, "a window of at least 30 minutes")
    return start, end


def _weekly_window(field_name: str, value: str) -> tuple[int, int]:
    """``ddd:hh24:mi-ddd:hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the week."""
    m = _WEEKLY_WINDOW_RE.fullmatch(value or "")
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

    #: Aurora MySQL 3 (MySQL 8.0-compatible) engine version: ``8.0`` (AWS's current default
    #: minor at creation; auto minor upgrades follow, and the plan never proposes a
    #: downgrade) or a full ``8.0.mysql_aurora.3.NN.N`` (3.07 or later with the Data API;
    #: then keep it in step after AWS upgrades, see the README).  Default ``8.0``.
    engine_version: str = "8.0"
    #: Instance class of the writer and the readers: ``db.serverless`` (Aurora Serverless
    #: v2, scaling between the two capacities below) or a provisioned Graviton or Intel
    #: class.  T classes only without the Data API.  Default ``db.serverless`` (prod:
    #: ``db.r6g.large``).
    instance_class: str = "db.serverless"
    #: Serverless v2 capacity range in Aurora capacity units (0-256 in steps of 0.5;
    #: 0 lets an idle instance pause).  Defaults 0.5 and 4.
    serverless_min_capacity: float = 0.5
    serverless_max_capacity: float = 4.0
    #: The RDS Data API (the cluster's HTTP endpoint), through which ``make db-users``
    #: provisions the users below with no network path into the isolated subnets.
    #: Default on.
    data_api: bool = True
    #: MySQL user the application logs in as, with IAM authentication over TLS only
    #: (1-32 letters, digits or '_').  Default ``orders_app``.
    app_username: str = "orders_app"
    #: Its privileges on the schema ``database_name`` (from :data:`APP_PRIVILEGES`).
    #: Default SELECT, INSERT, UPDATE, DELETE.
    app_privileges: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")
    #: An optional second IAM-authenticated user for schema migrations, with
    #: :data:`MIGRATION_PRIVILEGES` on the schema only.  Default none.
    migration_username: str | None = None
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
    #: CloudWatch Database Insights, which replaced the Performance Insights console (end of
    #: life 31 July 2026): ``standard`` (free, with 7 days of Performance Insights data) or
    #: ``advanced`` (per-query history, execution plans, fleet views; billed; needs
    #: ``performance_insights_retention_days`` of at least 465).  Default ``standard`` (prod ``advanced``).
    database_insights_mode: Literal["standard", "advanced"] = "standard"
    #: Performance Insights retention, days (7, or a multiple of 31 up to 731; 465 or more
    #: for advanced Database Insights).  Default 7 (free tier; prod 465).
    performance_insights_retention_days: int = 7
    #: Refuse ``terraform destroy`` of the cluster.  Must stay on in prod.
    deletion_protection: bool = False
    #: Delete without a final snapshot (``<name_prefix>-final-<created>``).  Refused in prod.
    #: Suffixed copies always skip it.  Default off.
    skip_final_snapshot: bool = False
    #: An AWS Backup plan (daily, vault encrypted with the database key) on top of RDS's
    #: automated backups.  Default off (prod: on).
    aws_backup: bool = False
    #: Days AWS Backup keeps each daily recovery point (1-3650).  Default 35.
    aws_backup_retention_days: int = 35
    #: Weekly AWS Backup restore tests of the newest recovery point (needs ``aws_backup``):
    #: the restored cluster is deleted after the validation window, and a failed test
    #: reaches the alarm topic.  Default off (prod: on).
    restore_testing: bool = False

    def __post_init__(self) -> None:
        self._check_engine_and_capacity()
        _int_in("database.reader_count", self.reader_count, 1, 14)
        _int_in("database.max_readers", self.max_readers, self.reader_count, 15)
        _int_in("database.reader_cpu_target_percent", self.reader_cpu_target_percent, 20, 90)
        self._check_schema_and_users()
        self._check_backups_and_windows()
        self._check_insights()
        _int_in("database.aws_backup_retention_days", self.aws_backup_retention_days, 1, 3650)
        _require(
            isinstance(self.restore_testing, bool) and (self.aws_backup or not self.restore_testing),
            "database.restore_testing",
            self.restore_testing,
            "true only with aws_backup (restore tests restore the AWS Backup plan's recovery points)",
        )

    def _check_engine_and_capacity(self) -> None:
        """Engine version (the Data API's minimum), instance class, Serverless v2 capacity range."""
        version = _ENGINE_VERSION_RE.fullmatch(self.engine_version or "")
        _require(version is not None, "database.engine_version", self.engine_version, "8.0, or a full Aurora MySQL 3 version such as 8.0.mysql_aurora.3.08.2")
        assert version is not None
        if self.data_api and version.group(2) is not None:
            _require(
                int(version.group(2)) >= DATA_API_MIN_MINOR,
                "database.engine_version",
                self.engine_version,
                f"Aurora MySQL 3.{DATA_API_MIN_MINOR:02d} or later (the Data API needs it), or 8.0",
            )
        _require(
            bool(_INSTANCE_CLASS_RE.fullmatch(self.instance_class or "")),
            "database.instance_class",
            self.instance_class,
            "db.serverless, or a provisioned Aurora MySQL class that supports Performance Insights (db.t4g.medium/large, db.r5/r6g/r7g/... sizes)",
        )
        _require(
            not (self.data_api and self.instance_class.startswith("db.t")),
            "database.instance_class",
            self.instance_class,
            "not a T class while data_api is on (the Data API does not run on T classes): db.serverless or db.r6g.large, for example",
        )
        for capacity_field in ("serverless_min_capacity", "serverless_max_capacity"):
            capacity = getattr(self, capacity_field)
            _require(
                isinstance(capacity, int | float) and not isinstance(capacity, bool) and 0 <= capacity <= 256 and float(capacity * 2).is_integer(),
                f"database.{capacity_field}",
                capacity,
                "0 to 256 Aurora capacity units in steps of 0.5",
            )
        _require(
            self.serverless_max_capacity > 0 and self.serverless_min_capacity <= self.serverless_max_capacity,
            "database.serverless_max_capacity",
            self.serverless_max_capacity,
            f"more than 0 and at least serverless_min_capacity ({self.serverless_min_capacity})",
        )

    def _check_schema_and_users(self) -> None:
        """Schema and master user names, the IAM-authenticated users (distinct), the application's privileges."""
        _require(
            bool(_MYSQL_IDENTIFIER_RE.fullmatch(self.database_name or "")) and len(self.database_name) <= 64,
            "database.database_name",
            self.database_name,
            "1-64 letters, digits or '_', starting with a letter",
        )
        _require(
            bool(_MYSQL_IDENTIFIER_RE.fullmatch(self.master_username or ""))
            and len(self.master_username) <= 16
            and self.master_username.lower() not in _RESERVED_DB_USERS,
            "database.master_username",
            self.master_username,
            "1-16 letters, digits or '_', starting with a letter, not one of " + ", ".join(_RESERVED_DB_USERS),
        )
        users = [("database.app_username", self.app_username)]
        if self.migration_username is not None:
            users.append(("database.migration_username", self.migration_username))
        for user_field, user in users:
            _require(
                bool(_MYSQL_IDENTIFIER_RE.fullmatch(user or "")) and len(user) <= 32 and user.lower() not in _RESERVED_DB_USERS,
                user_field,
                user,
                "1-32 letters, digits or '_', starting with a letter, not one of " + ", ".join(_RESERVED_DB_USERS),
            )
        names = [self.master_username.lower()] + [user.lower() for _, user in users]
        _require(len(set(names)) == len(names), users[-1][0], users[-1][1], "a user name different from the master user's and the other user's")
        _require(
            isinstance(self.app_privileges, tuple)
            and len(self.app_privileges) > 0
            and all(p in APP_PRIVILEGES for p in self.app_privileges)
            and len(set(self.app_privileges)) == len(self.app_privileges),
            "database.app_privileges",
            self.app_privileges,
            "distinct privileges from " + ", ".join(APP_PRIVILEGES) + " (never ALL or GRANT OPTION)",
        )

    def _check_backups_and_windows(self) -> None:
        """Secret rotation, backup retention, the backup and maintenance windows (apart), backtrack."""
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

    def _check_insights(self) -> None:
        """Enhanced monitoring interval, Performance Insights retention, Database Insights mode."""
        _one_of("database.monitoring_interval_seconds", self.monitoring_interval_seconds, MONITORING_INTERVALS)
        _require(
            self.performance_insights_retention_days in PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            "database.performance_insights_retention_days",
            self.performance_insights_retention_days,
            "7, or a multiple of 31 up to 731",
        )
        _one_of("database.database_insights_mode", self.database_insights_mode, DATABASE_INSIGHTS_MODES)
        _require(
            self.database_insights_mode != "advanced" or self.performance_insights_retention_days >= ADVANCED_INSIGHTS_RETENTION_DAYS,
            "database.performance_insights_retention_days",
            self.performance_insights_retention_days,
            f"at least {ADVANCED_INSIGHTS_RETENTION_DAYS} with advanced Database Insights (AWS requires 15 months of data)",
        )
