import os

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="lifecycle",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=table_finder(modules=["backend.lifecycle.tables"], exclude_imported=True),
    migration_dependencies=["backend.projects.piccolo_app"],
    commands=[],
)
